// A fresh directory under /tmp for one test, removed (with everything in it) when the test
// ends. Shared by the integration tests that open real LMDB environments.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace brokergw::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/brokergw-it-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace brokergw::testing
