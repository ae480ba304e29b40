// The config `edgeloop demo` runs: the built-in plant simulator, two pipelines with rules,
// and actions that print alerts and the commands sent back to the machine.
#pragma once

namespace edgeloop {

inline constexpr const char* kDemoConfig = R"yaml(
# edgeloop demo: a simulated plant (2 pumps, 2 motors); a bearing on line1/pump-1 starts to
# wear 20 s (plant time) in. The vibration rule sees it, raises an alert, and a command to
# slow the pump down is issued: the loop closes with no broker and no hardware.
sources:
  plant:
    type: simulator
    pumps: 2
    motors: 2
    interval: 100ms
    speed: ${EDGELOOP_DEMO_SPEED:-4}
    faults:
      - {asset: line1/pump-1, type: bearing_wear, start: 20s, ramp: 40s, severity: 1}
      - {asset: line1/motor-2, type: overheating, start: 60s, ramp: 60s, severity: 0.8}

pipelines:
  vibration:
    from: plant
    steps:
      - live: {name: signals}     # the dashboard's plots (op.live): every field of the readings
      - window: {size: 20, hop: 5, field: vibration, aggregates: [mean, max]}
      - live: {name: features}
      - rule: {name: bearing_vibration, when: "mean > 4.5", clear: "mean < 3.5", for: 2, severity: critical}
  temperature:
    from: plant
    steps:
      - window: {size: 10, hop: 10, field: temperature, aggregates: [mean]}
      - live: {name: features}
      - rule: {name: overtemperature, when: "mean > 80", clear: "mean < 75", severity: warning}

actions:
  show_alerts:
    on: "*.alert"
    type: log
  slow_down:
    on: vibration.raised
    type: log
    format: 'COMMAND -> plant/{key}/cmd {{"cmd":"reduce_speed","reason":"{rule}","vibration_mm_s":{mean}}}'

http:                            # the dashboard: http://127.0.0.1:8080/
  port: ${EDGELOOP_HTTP_PORT:-8080}
  threads: 8                     # each open dashboard page holds one for its live feed

runtime:
  summary_interval: 5s
)yaml";

}  // namespace edgeloop
