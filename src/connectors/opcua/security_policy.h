// The seam where OPC UA message security plugs in. Only SecurityPolicy None is implemented;
// Basic256Sha256 (and the other RSA/AES policies) would implement this interface with
// OpenSSL: sign and encrypt each chunk after the sequence header, verify and decrypt on
// receipt, derive symmetric keys from the nonces exchanged in OpenSecureChannel, and encrypt
// the user password of a UserNameIdentityToken with the server's public key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace edgeloop::opcua {

inline constexpr std::string_view kSecurityPolicyNoneUri = "http://opcfoundation.org/UA/SecurityPolicy#None";

class SecurityPolicy {
 public:
  virtual ~SecurityPolicy() = default;
  virtual std::string_view uri() const = 0;
  // MessageSecurityMode: 1 None, 2 Sign, 3 SignAndEncrypt.
  virtual int32_t message_security_mode() const = 0;
  // The OPN asymmetric security header's certificate fields (empty for None).
  virtual std::string sender_certificate() const { return {}; }
  virtual std::string receiver_thumbprint() const { return {}; }
  // Bytes a chunk needs beyond its body (signature, padding), so the sender can size chunks.
  virtual std::size_t chunk_overhead(bool asymmetric) const = 0;
  // Secures one outgoing chunk in place. `chunk` holds the message header (its size field is
  // rewritten after), the security header, then from `plain_start` the sequence header and body.
  virtual Status protect(std::string& chunk, std::size_t plain_start, bool asymmetric) = 0;
  // Verifies (and decrypts) one received chunk in place; on return the bytes from
  // `plain_start` are the sequence header and body, without signature or padding.
  virtual Status unprotect(std::string& chunk, std::size_t plain_start, bool asymmetric) = 0;
  // The client nonce of OpenSecureChannel and the server's reply (key derivation).
  virtual std::string client_nonce() { return {}; }
  virtual Status accept_server_nonce(std::string_view nonce) {
    (void)nonce;
    return Status::Ok();
  }
  // The password field of a UserNameIdentityToken for a token policy whose securityPolicyUri
  // is `token_policy_uri` (empty: the channel's). `algorithm` receives the encryptionAlgorithm URI.
  virtual Result<std::string> encode_password(std::string_view token_policy_uri, std::string_view password,
                                              std::string_view server_nonce, std::string& algorithm) = 0;
};

// SecurityPolicy None: no signature, no encryption. A password is sent as plain UTF-8 bytes
// with no encryptionAlgorithm, which Part 4 §7.36.4 permits only when the token policy's
// securityPolicyUri is None (or absent while the channel is None); a token policy that asks
// for an encrypted password is refused (it needs an RSA policy, not implemented yet).
class NoneSecurityPolicy final : public SecurityPolicy {
 public:
  std::string_view uri() const override { return kSecurityPolicyNoneUri; }
  int32_t message_security_mode() const override { return 1; }
  std::size_t chunk_overhead(bool) const override { return 0; }
  Status protect(std::string&, std::size_t, bool) override { return Status::Ok(); }
  Status unprotect(std::string&, std::size_t, bool) override { return Status::Ok(); }
  Result<std::string> encode_password(std::string_view token_policy_uri, std::string_view password, std::string_view,
                                      std::string& algorithm) override {
    if (!token_policy_uri.empty() && token_policy_uri != kSecurityPolicyNoneUri) {
      return make_error(Errc::kUnavailable, "the server wants the password encrypted with " +
                                                std::string(token_policy_uri) + ", which is not supported yet");
    }
    algorithm.clear();
    return std::string(password);
  }
};

}  // namespace edgeloop::opcua
