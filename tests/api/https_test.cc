// HTTPS: a self-signed certificate made at test time (OpenSSL API, no openssl process), an
// SSLServer that serves it and an SSLClient that trusts exactly it.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "api/http_server.h"

namespace edgeloop {
namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgeloop-tls-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};

// Writes a self-signed P-256 certificate for 127.0.0.1 (CN and subjectAltName IP) and its key.
bool make_self_signed(const std::string& cert_path, const std::string& key_path) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  std::unique_ptr<X509, X509Free> cert(X509_new());
  if (!key || !cert) return false;
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn = "127.0.0.1";
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  if (san == nullptr) return false;
  X509_add_ext(cert.get(), san, -1);
  X509_EXTENSION_free(san);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return false;
  std::unique_ptr<FILE, FileClose> cf(std::fopen(cert_path.c_str(), "w"));
  std::unique_ptr<FILE, FileClose> kf(std::fopen(key_path.c_str(), "w"));
  if (!cf || !kf) return false;
  return PEM_write_X509(cf.get(), cert.get()) == 1 &&
         PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
}

ApiOptions tls_options(const std::string& cert, const std::string& key) {
  ApiOptions o;
  o.port = 0;
  o.tls_cert = cert;
  o.tls_key = key;
  o.tokens = {{"o-tok", Role::kOperate, "op"}};
  return o;
}

TEST(Https, RoundTripWithAGeneratedCertificate) {
  TempDir dir;
  const std::string cert = dir.file("cert.pem");
  const std::string key = dir.file("key.pem");
  ASSERT_TRUE(make_self_signed(cert, key));

  Metrics metrics;
  ApiServer server(tls_options(cert, key), metrics, nullptr);
  server.add_post("/api/v1/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(caller_of(req).name + ":" + req.body, "text/plain");
  });
  auto st = server.start();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(server.tls());

  httplib::SSLClient cli("127.0.0.1", server.port());
  cli.set_ca_cert_path(cert.c_str());
  cli.enable_server_certificate_verification(true);
  auto who = cli.Get("/api/v1/whoami", {{"Authorization", "Bearer o-tok"}});
  ASSERT_TRUE(who) << httplib::to_string(who.error());
  EXPECT_EQ(who->status, 200);
  EXPECT_EQ(nlohmann::json::parse(who->body).at("role"), "operate");
  auto echo = cli.Post("/api/v1/echo", {{"Authorization", "Bearer o-tok"}}, "hello", "text/plain");
  ASSERT_TRUE(echo) << httplib::to_string(echo.error());
  EXPECT_EQ(echo->status, 200);
  EXPECT_EQ(echo->body, "op:hello");

  // A client that does not trust the certificate (only the system's CAs) refuses it.
  httplib::SSLClient untrusting("127.0.0.1", server.port());
  untrusting.enable_server_certificate_verification(true);
  auto refused = untrusting.Get("/api/v1/whoami");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), httplib::Error::SSLServerVerification);
  // Plain HTTP to the TLS port gets no HTTP answer.
  httplib::Client plain("127.0.0.1", server.port());
  plain.set_read_timeout(2, 0);
  auto plain_res = plain.Get("/api/v1/whoami");
  ASSERT_FALSE(plain_res);
  EXPECT_EQ(plain_res.error(), httplib::Error::Read) << httplib::to_string(plain_res.error());
  server.stop();
}

TEST(Https, MissingOrBadCertificateIsAClearStartupError) {
  TempDir dir;
  Metrics metrics;
  const std::string missing = dir.file("missing.pem");
  ApiServer no_file(tls_options(missing, dir.file("key.pem")), metrics, nullptr);
  auto st = no_file.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "http.tls: cannot read the certificate file " + missing + ": No such file or directory");
  EXPECT_FALSE(no_file.running());

  const std::string garbage = dir.file("garbage.pem");
  std::ofstream(garbage) << "not a certificate\n";
  ApiServer bad(tls_options(garbage, garbage), metrics, nullptr);
  auto bad_st = bad.start();
  ASSERT_FALSE(bad_st.ok());
  const std::string prefix = "http.tls: cannot use certificate " + garbage + " with key " + garbage +
                             " (PEM files; the key must match the certificate)";
  EXPECT_EQ(bad_st.error().message.substr(0, prefix.size()), prefix) << bad_st.error().message;

  // A key that does not belong to the certificate.
  const std::string cert_a = dir.file("a.pem");
  const std::string key_a = dir.file("a.key");
  const std::string cert_b = dir.file("b.pem");
  const std::string key_b = dir.file("b.key");
  ASSERT_TRUE(make_self_signed(cert_a, key_a));
  ASSERT_TRUE(make_self_signed(cert_b, key_b));
  ApiServer mismatch(tls_options(cert_a, key_b), metrics, nullptr);
  auto mm = mismatch.start();
  ASSERT_FALSE(mm.ok());
  EXPECT_NE(mm.error().message.find("key values mismatch"), std::string::npos) << mm.error().message;
}

TEST(Https, OptionsFromTheTlsNode) {
  ConfigNode tls = ConfigNode::map(Mark{});
  tls.set("cert", ConfigNode::scalar("/etc/edgeloop/cert.pem", Mark{}));
  tls.set("key", ConfigNode::scalar("/etc/edgeloop/key.pem", Mark{}));
  ConfigNode http = ConfigNode::map(Mark{});
  http.set("tls", tls);
  auto o = ApiOptions::from_node(http, "http");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->tls_cert, "/etc/edgeloop/cert.pem");
  EXPECT_EQ(o->tls_key, "/etc/edgeloop/key.pem");

  ConfigNode half = ConfigNode::map(Mark{});
  half.set("cert", ConfigNode::scalar("/etc/edgeloop/cert.pem", Mark{}));
  ConfigNode http2 = ConfigNode::map(Mark{});
  http2.set("tls", half);
  auto e = ApiOptions::from_node(http2, "http");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "<config>: http.tls: missing required key 'key' (string: PEM private key file.)");
}

}  // namespace
}  // namespace edgeloop
