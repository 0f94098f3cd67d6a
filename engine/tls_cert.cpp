#include "engine/tls_cert.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>

namespace nougat::engine {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

Status write_pem(const std::filesystem::path& p, mode_t mode, const std::function<int(FILE*)>& w) {
  auto tmp = p;
  tmp += ".tmp";
  std::unique_ptr<FILE, FileCloser> f(std::fopen(tmp.c_str(), "w"));
  if (!f) return make_error("cannot write " + tmp.string());
  ::chmod(tmp.c_str(), mode);
  if (w(f.get()) != 1) return make_error("cannot write " + tmp.string());
  f.reset();
  std::error_code ec;
  std::filesystem::rename(tmp, p, ec);
  if (ec) return make_error("cannot rename " + tmp.string() + ": " + ec.message());
  return Ok{};
}

}  // namespace

Status ensure_certificate(const std::filesystem::path& cert, const std::filesystem::path& key,
                          const std::string& hostname, bool* created) {
  if (created) *created = false;
  std::error_code ec;
  bool have_cert = std::filesystem::exists(cert, ec), have_key = std::filesystem::exists(key, ec);
  if (have_cert && have_key) return Ok{};
  if (have_cert != have_key)
    return make_error("only one of " + cert.string() + " and " + key.string() + " exists");
  std::filesystem::create_directories(cert.parent_path(), ec);
  std::filesystem::create_directories(key.parent_path(), ec);

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!pkey) return make_error("cannot generate a TLS key");
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), static_cast<long>(::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 10L * 365 * 86400);
  X509_set_pubkey(x.get(), pkey.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("nougat self-signed"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  std::string san = "DNS:" + hostname + ",DNS:localhost,IP:127.0.0.1,IP:::1";
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(x.get(), pkey.get(), EVP_sha256())) return make_error("cannot sign the certificate");

  if (auto st = write_pem(key, 0600, [&](FILE* f) {
        return PEM_write_PrivateKey(f, pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
      });
      !st)
    return st;
  if (auto st = write_pem(cert, 0644, [&](FILE* f) { return PEM_write_X509(f, x.get()); }); !st)
    return st;
  if (created) *created = true;
  return Ok{};
}

}  // namespace nougat::engine
