#include "connectors/opcua/ua_binary.h"

#include <gtest/gtest.h>

#include "connectors/opcua/secure_channel.h"
#include "connectors/opcua/ua_client.h"

namespace edgeloop::opcua {
namespace {

std::string hex(const std::string& s) {
  std::string out;
  char b[4];
  for (unsigned char c : s) {
    std::snprintf(b, sizeof b, "%02x", c);
    out += b;
  }
  return out;
}

TEST(UaBinary, NodeIdEncodingsPickTheShortestForm) {
  UaWriter w;
  w.node_id(NodeId::num(85));
  w.node_id(NodeId::num(1000, 1));
  w.node_id(NodeId::num(70000, 2));
  w.node_id(NodeId::parse("ns=1;s=Temp").value());
  EXPECT_EQ(hex(w.buffer()), "0055" "0101e803" "02020070110100" "0301000400000054656d70");
  UaReader r(w.buffer());
  EXPECT_EQ(r.node_id().to_string(), "i=85");
  EXPECT_EQ(r.node_id().to_string(), "ns=1;i=1000");
  EXPECT_EQ(r.node_id().to_string(), "ns=2;i=70000");
  EXPECT_EQ(r.node_id().to_string(), "ns=1;s=Temp");
  EXPECT_TRUE(r.finish("ids").ok());
}

TEST(UaBinary, NodeIdTextForms) {
  EXPECT_EQ(NodeId::parse("ns=2;g=72962b91-fa75-4ae6-8d28-b404dc7daf63")->to_string(),
            "ns=2;g=72962b91-fa75-4ae6-8d28-b404dc7daf63");
  EXPECT_EQ(NodeId::parse("ns=1;b=M/RbKBsRVkePCePcx24oRA==")->to_string(), "ns=1;b=M/RbKBsRVkePCePcx24oRA==");
  EXPECT_EQ(NodeId::parse("i=2258")->numeric, 2258u);
  EXPECT_FALSE(NodeId::parse("ns=1").ok());
  EXPECT_FALSE(NodeId::parse("ns=70000;i=1").ok());
  EXPECT_FALSE(NodeId::parse("x=1").ok());
  EXPECT_FALSE(NodeId::parse("ns=1;g=nothex").ok());
  UaWriter w;
  w.node_id(NodeId::parse("ns=2;g=72962b91-fa75-4ae6-8d28-b404dc7daf63").value());
  EXPECT_EQ(hex(w.buffer()), "040200912b967275fae64a8d28b404dc7daf63");
}

TEST(UaBinary, VariantAndDataValueRoundTrip) {
  UaWriter w;
  DataValue dv;
  dv.has_value = true;
  dv.value = Variant::from_number(VariantType::kInt32, -7).value();
  dv.status = 0x40000000;
  dv.source_ts = unix_ns_to_ticks(1'700'000'000'000'000'000);
  w.data_value(dv);
  UaReader r(w.buffer());
  const DataValue back = r.data_value();
  ASSERT_TRUE(r.finish("dv").ok());
  EXPECT_EQ(back.value.type, VariantType::kInt32);
  EXPECT_EQ(back.value.i, -7);
  EXPECT_EQ(back.status, 0x40000000u);
  EXPECT_EQ(ticks_to_unix_ns(back.source_ts), 1'700'000'000'000'000'000);
  EXPECT_EQ(back.server_ts, 0);
  EXPECT_FALSE(Variant::from_number(VariantType::kByte, 300).ok());
  EXPECT_FALSE(Variant::from_number(VariantType::kInt32, 1.5).ok());
}

TEST(UaBinary, ArrayVariantWithDimensions) {
  // Double[2] with ArrayDimensions [2]
  const std::string b("\xcb\x02\x00\x00\x00" "\x00\x00\x00\x00\x00\x00\xf0\x3f" "\x00\x00\x00\x00\x00\x00\x00\x40"
                      "\x01\x00\x00\x00\x02\x00\x00\x00", 29);
  UaReader r(b);
  const Variant v = r.variant();
  ASSERT_TRUE(r.finish("v").ok()) << r.error();
  ASSERT_TRUE(v.is_array);
  ASSERT_EQ(v.items.size(), 2u);
  EXPECT_EQ(v.items[1].d, 2.0);
}

TEST(UaBinary, MalformedInputFailsWithoutReadingPastTheEnd) {
  const std::string huge_array("\x8b\xff\xff\xff\x7f", 5);  // Double[2^31-1] in 5 bytes
  UaReader a(huge_array);
  (void)a.variant();
  EXPECT_FALSE(a.ok());
  EXPECT_NE(a.error().find("exceeds"), std::string::npos);
  const std::string bad_type("\x3f", 1);
  UaReader b(bad_type);
  (void)b.variant();
  EXPECT_FALSE(b.ok());
  const std::string short_string("\x10\x00\x00\x00" "ab", 6);
  UaReader c(short_string);
  EXPECT_EQ(c.string(), "");
  EXPECT_FALSE(c.ok());
  std::string deep(64, '\x18');  // Variant in Variant in ...
  UaReader d(deep);
  (void)d.variant();
  EXPECT_FALSE(d.ok());
  std::string deep_diag(64, '\x40');
  UaReader e(deep_diag);
  e.skip_diagnostic_info();
  EXPECT_FALSE(e.ok());
  EXPECT_FALSE(UaClient::decode_publish(std::string("\x01\x02", 2)).ok());
}

TEST(UaBinary, EndpointUrl) {
  auto e = EndpointUrl::parse("opc.tcp://plc1:4841/UA/Server");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "plc1");
  EXPECT_EQ(e->port, 4841);
  EXPECT_EQ(e->path, "/UA/Server");
  EXPECT_EQ(EndpointUrl::parse("opc.tcp://plc1")->port, 4840);
  EXPECT_FALSE(EndpointUrl::parse("http://plc1:4840").ok());
  EXPECT_FALSE(EndpointUrl::parse("opc.tcp://plc1:99999").ok());
}

}  // namespace
}  // namespace edgeloop::opcua
