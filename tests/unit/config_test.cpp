// Unit tests of the configuration loader and its generated reference (gateway/config).
// Files needed by path checks live in a fresh temporary directory per test.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/config/config.h"

namespace brokergw::config {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kValid = R"(
[gateway]
instance_id = "gw-1"

[brokers.sim]
type = "fix"
host = "127.0.0.1"
port = 9876
sender_comp_id = "BROKERGW"
target_comp_id = "SIM"
data_dictionary = "../fixspec/FIX44.brokergw.xml"
)";

// `base` with `from` replaced by `to`; fails the test when `from` is not there.
std::string with(std::string_view base, std::string_view from, std::string_view to) {
  std::string out(base);
  const auto at = out.find(from);
  EXPECT_NE(at, std::string::npos) << "test bug: " << from << " not in the base config";
  if (at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

std::vector<std::string> messages(const std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.to_string());
  return out;
}

std::string joined(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.to_string() + "\n";
  return out;
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "brokergw_config_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::create_directories(dir_ / "etc");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, std::string_view content) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::string etc() const { return (dir_ / "etc").string(); }

  // Loads `text` expecting exactly one error, and returns it as "key: reason".
  std::string only_error(const std::string& text) {
    auto result = load_config_string(text, etc());
    if (result) return "loaded without error";
    EXPECT_EQ(result.error().size(), 1u) << joined(result.error());
    return result.error().front().to_string();
  }

  fs::path dir_;
};

TEST_F(ConfigTest, MinimalFileGetsEveryDefault) {
  auto result = load_config_string(std::string(kValid), etc());
  ASSERT_TRUE(result) << joined(result.error());
  const Config& c = *result;
  EXPECT_EQ(c.config_path, "");
  EXPECT_EQ(c.instance_id, "gw-1");
  EXPECT_EQ(c.state_dir, "/var/lib/brokergw");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.api_listen_address, "127.0.0.1");
  EXPECT_EQ(c.api_listen_port, 8080);
  EXPECT_EQ(c.api_threads, 32u);
  EXPECT_EQ(c.api_max_body_bytes, 65536u);
  EXPECT_EQ(c.api_token_file, "");
  EXPECT_EQ(c.store_map_size_mb, 1024u);
  EXPECT_EQ(c.store_max_batch, 512u);
  ASSERT_EQ(c.brokers.size(), 1u);
  const BrokerConfig& b = c.brokers[0];
  EXPECT_EQ(b.name, "sim");
  EXPECT_EQ(b.type, "fix");
  EXPECT_EQ(b.host, "127.0.0.1");
  EXPECT_EQ(b.port, 9876);
  EXPECT_EQ(b.fix_version, "FIX.4.4");
  EXPECT_EQ(b.sender_comp_id, "BROKERGW");
  EXPECT_EQ(b.target_comp_id, "SIM");
  EXPECT_EQ(b.data_dictionary, (dir_ / "fixspec/FIX44.brokergw.xml").string());
  EXPECT_EQ(b.heartbeat_interval_s, 30u);
  EXPECT_EQ(b.reconnect_interval_s, 5u);
  EXPECT_EQ(b.queue_capacity, 10000u);
  EXPECT_EQ(b.username, "");
  EXPECT_EQ(b.password_file, "");
}

TEST_F(ConfigTest, EveryKeySetExplicitly) {
  const std::string token = write("token", "s3cret\n");
  const std::string password = write("password", "hunter2");
  const std::string text = R"(
[gateway]
instance_id = "GW_2"
state_dir = "state"
log_level = "debug"
[api]
listen_address = "::1"
listen_port = 65535
threads = 1024
max_body_bytes = 1024
token_file = "../token"
[store]
map_size_mb = 16
max_batch = 65536
[brokers.b-2]
type = "fix"
host = "fix.example.com"
port = 1
fix_version = "FIX.4.2"
sender_comp_id = "US"
target_comp_id = "THEM"
data_dictionary = "/opt/brokergw/fixspec/FIX42.b2.xml"
heartbeat_interval_s = 300
reconnect_interval_s = 3600
queue_capacity = 1000000
username = "user1"
password_file = ")" + password +
                           R"("
[brokers.a_1]
type = "fix"
host = "10.0.0.1"
port = 65535
sender_comp_id = "US"
target_comp_id = "OTHER"
data_dictionary = "dd.xml"
heartbeat_interval_s = 1
reconnect_interval_s = 1
queue_capacity = 1
)";
  auto result = load_config_string(text, etc());
  ASSERT_TRUE(result) << joined(result.error());
  const Config& c = *result;
  EXPECT_EQ(c.instance_id, "GW_2");
  EXPECT_EQ(c.state_dir, (dir_ / "etc/state").string());
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.api_listen_address, "::1");
  EXPECT_EQ(c.api_listen_port, 65535);
  EXPECT_EQ(c.api_threads, 1024u);
  EXPECT_EQ(c.api_max_body_bytes, 1024u);
  EXPECT_EQ(c.api_token_file, token);
  EXPECT_EQ(c.store_map_size_mb, 16u);
  EXPECT_EQ(c.store_max_batch, 65536u);
  ASSERT_EQ(c.brokers.size(), 2u);
  EXPECT_EQ(c.brokers[0].name, "a_1");  // brokers come sorted by name
  EXPECT_EQ(c.brokers[0].data_dictionary, (dir_ / "etc/dd.xml").string());
  EXPECT_EQ(c.brokers[0].heartbeat_interval_s, 1u);
  EXPECT_EQ(c.brokers[0].reconnect_interval_s, 1u);
  EXPECT_EQ(c.brokers[0].queue_capacity, 1u);
  const BrokerConfig& b = c.brokers[1];
  EXPECT_EQ(b.name, "b-2");
  EXPECT_EQ(b.host, "fix.example.com");
  EXPECT_EQ(b.port, 1);
  EXPECT_EQ(b.fix_version, "FIX.4.2");
  EXPECT_EQ(b.data_dictionary, "/opt/brokergw/fixspec/FIX42.b2.xml");
  EXPECT_EQ(b.heartbeat_interval_s, 300u);
  EXPECT_EQ(b.reconnect_interval_s, 3600u);
  EXPECT_EQ(b.queue_capacity, 1000000u);
  EXPECT_EQ(b.username, "user1");
  EXPECT_EQ(b.password_file, password);
}

struct BadCase {
  std::string_view from;
  std::string_view to;
  std::string_view error;  // the one expected "key: reason"
};

TEST_F(ConfigTest, EachBadValueIsNamed) {
  const std::vector<BadCase> cases = {
      {"instance_id = \"gw-1\"\n", "", "gateway.instance_id: is required"},
      {"\"gw-1\"", "\"gw 1\"", "gateway.instance_id: must be [A-Za-z0-9_-]{1,32}, got \"gw 1\""},
      {"\"gw-1\"", "\"123456789012345678901234567890123\"",
       "gateway.instance_id: must be [A-Za-z0-9_-]{1,32}, got "
       "\"123456789012345678901234567890123\""},
      {"\"gw-1\"", "\"\"", "gateway.instance_id: must be [A-Za-z0-9_-]{1,32}, got \"\""},
      {"\"gw-1\"", "7", "gateway.instance_id: must be a string, got integer"},
      {"instance_id = \"gw-1\"", "instance_id = \"gw-1\"\nstate_dir = \"\"",
       "gateway.state_dir: must not be empty"},
      {"instance_id = \"gw-1\"", "instance_id = \"gw-1\"\nlog_level = \"verbose\"",
       "gateway.log_level: must be one of trace, debug, info, warn, error, got \"verbose\""},
      {"[gateway]", "[api]\nlisten_address = \"localhost\"\n[gateway]",
       "api.listen_address: must be literal IPv4 or IPv6 address, got \"localhost\""},
      {"[gateway]", "[api]\nlisten_port = 70000\n[gateway]",
       "api.listen_port: must be between 1 and 65535, got 70000"},
      {"[gateway]", "[api]\nlisten_port = 0\n[gateway]",
       "api.listen_port: must be between 1 and 65535, got 0"},
      {"[gateway]", "[api]\nlisten_port = \"8080\"\n[gateway]",
       "api.listen_port: must be an integer, got string"},
      {"[gateway]", "[api]\nlisten_port = 8080.0\n[gateway]",
       "api.listen_port: must be an integer, got float"},
      {"[gateway]", "[api]\nthreads = 0\n[gateway]",
       "api.threads: must be between 1 and 1024, got 0"},
      {"[gateway]", "[api]\nthreads = 1025\n[gateway]",
       "api.threads: must be between 1 and 1024, got 1025"},
      {"[gateway]", "[api]\nmax_body_bytes = 1023\n[gateway]",
       "api.max_body_bytes: must be between 1024 and 1048576, got 1023"},
      {"[gateway]", "[api]\nmax_body_bytes = 1048577\n[gateway]",
       "api.max_body_bytes: must be between 1024 and 1048576, got 1048577"},
      {"[gateway]", "[store]\nmap_size_mb = 15\n[gateway]",
       "store.map_size_mb: must be between 16 and 1048576, got 15"},
      {"[gateway]", "[store]\nmax_batch = 65537\n[gateway]",
       "store.max_batch: must be between 1 and 65536, got 65537"},
      {"type = \"fix\"\n", "", "brokers.sim.type: is required"},
      {"\"fix\"", "\"rest\"", "brokers.sim.type: must be one of fix, got \"rest\""},
      {"host = \"127.0.0.1\"\n", "", "brokers.sim.host: is required"},
      {"\"127.0.0.1\"", "\"bad host\"",
       "brokers.sim.host: must be host name or IP address, got \"bad host\""},
      {"port = 9876\n", "", "brokers.sim.port: is required"},
      {"9876", "65536", "brokers.sim.port: must be between 1 and 65535, got 65536"},
      {"9876", "-1", "brokers.sim.port: must be between 1 and 65535, got -1"},
      {"port = 9876", "port = 9876\nfix_version = \"FIX.5.0\"",
       "brokers.sim.fix_version: must be one of FIX.4.4, FIX.4.2, got \"FIX.5.0\""},
      {"sender_comp_id = \"BROKERGW\"\n", "", "brokers.sim.sender_comp_id: is required"},
      {"\"BROKERGW\"", "\"BROKER\\u0001GW\"",
       "brokers.sim.sender_comp_id: must be 1 to 64 printable ASCII characters, no spaces, "
       "got \"BROKER\\x01GW\""},
      {"target_comp_id = \"SIM\"\n", "", "brokers.sim.target_comp_id: is required"},
      {"data_dictionary = \"../fixspec/FIX44.brokergw.xml\"\n", "",
       "brokers.sim.data_dictionary: is required"},
      {"port = 9876", "port = 9876\nheartbeat_interval_s = 301",
       "brokers.sim.heartbeat_interval_s: must be between 1 and 300, got 301"},
      {"port = 9876", "port = 9876\nheartbeat_interval_s = 0",
       "brokers.sim.heartbeat_interval_s: must be between 1 and 300, got 0"},
      {"port = 9876", "port = 9876\nreconnect_interval_s = 3601",
       "brokers.sim.reconnect_interval_s: must be between 1 and 3600, got 3601"},
      {"port = 9876", "port = 9876\nqueue_capacity = 1000001",
       "brokers.sim.queue_capacity: must be between 1 and 1000000, got 1000001"},
      {"port = 9876", "port = 9876\nqueue_capacity = true",
       "brokers.sim.queue_capacity: must be an integer, got boolean"},
      {"port = 9876", "port = 9876\nusername = \"a b\"",
       "brokers.sim.username: must be 1 to 64 printable ASCII characters, no spaces, "
       "got \"a b\""},
      {"[brokers.sim]", "[brokers.Sim]",
       "brokers.Sim: broker name must be 1 to 32 characters of a-z 0-9 _ -"},
      {"[brokers.sim]\ntype = \"fix\"\nhost = \"127.0.0.1\"\nport = 9876\n"
       "sender_comp_id = \"BROKERGW\"\ntarget_comp_id = \"SIM\"\n"
       "data_dictionary = \"../fixspec/FIX44.brokergw.xml\"\n",
       "", "brokers: at least one broker is required: add a [brokers.<name>] table"},
      {"[brokers.sim]\ntype = \"fix\"\nhost = \"127.0.0.1\"\nport = 9876\n"
       "sender_comp_id = \"BROKERGW\"\ntarget_comp_id = \"SIM\"\n"
       "data_dictionary = \"../fixspec/FIX44.brokergw.xml\"\n",
       "[brokers]\n", "brokers: at least one broker is required: add a [brokers.<name>] table"},
      {"[brokers.sim]\ntype = \"fix\"\nhost = \"127.0.0.1\"\nport = 9876\n"
       "sender_comp_id = \"BROKERGW\"\ntarget_comp_id = \"SIM\"\n"
       "data_dictionary = \"../fixspec/FIX44.brokergw.xml\"\n",
       "[brokers]\nsim = 1\n", "brokers.sim: must be a table, got integer"},
      {"[gateway]", "api = 5\n[gateway]", "api: must be a table, got integer"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.error));
    EXPECT_EQ(only_error(with(kValid, c.from, c.to)), c.error);
  }
}

TEST_F(ConfigTest, UnknownKeysAreErrorsNamingTheKey) {
  EXPECT_EQ(only_error(with(kValid, "[gateway]", "[api]\nlisten_prot = 1\n[gateway]")),
            "api.listen_prot: unknown key (did you mean \"listen_port\"?)");
  EXPECT_EQ(only_error(with(kValid, "port = 9876", "port = 9876\nhots = \"x\"")),
            "brokers.sim.hots: unknown key (did you mean \"host\"?)");
  EXPECT_EQ(only_error(with(kValid, "[gateway]", "[metrics]\nport = 1\n[gateway]")),
            "metrics: unknown key");
  EXPECT_EQ(only_error(with(kValid, "[gateway]", "instance_id = \"x\"\n[gateway]")),
            "instance_id: unknown key");
  EXPECT_EQ(only_error(with(kValid, "[gateway]", "[gatway]\nlog_level = \"info\"\n[gateway]")),
            "gatway: unknown key (did you mean \"gateway\"?)");
  EXPECT_EQ(only_error(with(kValid, "[gateway]", "[api.tls]\ncert = \"x\"\n[gateway]")),
            "api.tls: unknown key");
  EXPECT_EQ(only_error(with(kValid, "port = 9876", "port = 9876\npassword = \"hunter2\"")),
            "brokers.sim.password: unknown key (did you mean \"password_file\"?)")
      << "a typo of a secret's key must not echo the secret";
  EXPECT_EQ(only_error(with(kValid, "[gateway]", "\"zz\\u0007zz\" = 1\n[gateway]")),
            "zz\\x07zz: unknown key");
}

TEST_F(ConfigTest, EveryErrorIsReportedAtOnce) {
  const std::string text = R"(
[gateway]
log_level = "loud"
[api]
listen_port = 70000
threads = "many"
colour = "blue"
[brokers.sim]
type = "fix"
port = 0
sender_comp_id = "US"
target_comp_id = "THEM"
data_dictionary = "d.xml"
[brokers.BAD]
type = "fix"
)";
  auto result = load_config_string(text, etc());
  ASSERT_FALSE(result);
  EXPECT_EQ(messages(result.error()),
            (std::vector<std::string>{
                "gateway.instance_id: is required",
                "gateway.log_level: must be one of trace, debug, info, warn, error, got \"loud\"",
                "api.colour: unknown key",
                "api.listen_port: must be between 1 and 65535, got 70000",
                "api.threads: must be an integer, got string",
                "brokers.BAD: broker name must be 1 to 32 characters of a-z 0-9 _ -",
                "brokers.BAD.host: is required",
                "brokers.BAD.port: is required",
                "brokers.BAD.sender_comp_id: is required",
                "brokers.BAD.target_comp_id: is required",
                "brokers.BAD.data_dictionary: is required",
                "brokers.sim.host: is required",
                "brokers.sim.port: must be between 1 and 65535, got 0",
            }));
}

TEST_F(ConfigTest, SyntaxErrorIsAFileLevelError) {
  auto result = load_config_string("[gateway\ninstance_id = 1\n", etc());
  ASSERT_FALSE(result);
  ASSERT_EQ(result.error().size(), 1u);
  EXPECT_EQ(result.error()[0].key, "");
  EXPECT_EQ(result.error()[0].reason.rfind("syntax error at line 1, column ", 0), 0u)
      << result.error()[0].reason;
}

TEST_F(ConfigTest, TwoBrokersMayNotShareAFixSession) {
  std::string text(kValid);
  text += with(kValid.substr(kValid.find("[brokers.sim]")), "[brokers.sim]", "[brokers.sim2]");
  EXPECT_EQ(only_error(text),
            "brokers.sim2: FIX session FIX.4.4:BROKERGW->SIM is already used by broker sim");
}

TEST_F(ConfigTest, TokenFileMustExistAndHoldSomething) {
  const std::string with_token =
      with(kValid, "[gateway]", "[api]\ntoken_file = \"../token\"\n[gateway]");
  EXPECT_EQ(only_error(with_token),
            "api.token_file: file " + (dir_ / "token").string() + " does not exist");
  write("token", "");
  EXPECT_EQ(only_error(with_token),
            "api.token_file: file " + (dir_ / "token").string() + " is empty");
  write("token", "t0ken");
  auto result = load_config_string(with_token, etc());
  ASSERT_TRUE(result) << joined(result.error());
  EXPECT_EQ(result->api_token_file, (dir_ / "token").string());

  EXPECT_EQ(only_error(with(kValid, "[gateway]", "[api]\ntoken_file = \".\"\n[gateway]")),
            "api.token_file: " + etc() + " is not a regular file");
}

TEST_F(ConfigTest, PasswordFileMustExistAndIsNeverRead) {
  const std::string cfg = with(kValid, "port = 9876", "port = 9876\npassword_file = \"pw\"");
  EXPECT_EQ(only_error(cfg),
            "brokers.sim.password_file: file " + (dir_ / "etc/pw").string() + " does not exist");
  write("etc/pw", "hunter2");
  auto result = load_config_string(cfg, etc());
  ASSERT_TRUE(result) << joined(result.error());
  EXPECT_EQ(result->brokers[0].password_file, (dir_ / "etc/pw").string());
  // Only the path is kept: nothing in the Config holds the password.
  const BrokerConfig& b = result->brokers[0];
  for (const std::string* field : {&b.name, &b.type, &b.host, &b.fix_version, &b.sender_comp_id,
                                   &b.target_comp_id, &b.data_dictionary, &b.username}) {
    EXPECT_EQ(field->find("hunter2"), std::string::npos);
  }
}

TEST_F(ConfigTest, LoadFileResolvesPathsAgainstItsDirectory) {
  const std::string path = write("etc/brokergw.toml", kValid);
  auto result = load_config_file(path);
  ASSERT_TRUE(result) << joined(result.error());
  EXPECT_EQ(result->config_path, path);
  EXPECT_EQ(result->brokers[0].data_dictionary, (dir_ / "fixspec/FIX44.brokergw.xml").string());
}

TEST_F(ConfigTest, MissingFileIsAFileLevelError) {
  auto result = load_config_file((dir_ / "nope.toml").string());
  ASSERT_FALSE(result);
  ASSERT_EQ(result.error().size(), 1u);
  EXPECT_EQ(result.error()[0].key, "");
  EXPECT_NE(result.error()[0].reason.find("nope.toml"), std::string::npos);
}

TEST(ConfigExample, ExampleFileInTheRepositoryLoads) {
  const std::string path = std::string(BROKERGW_SOURCE_DIR) + "/config/brokergw.example.toml";
  auto result = load_config_file(path);
  ASSERT_TRUE(result) << joined(result.error());
  ASSERT_EQ(result->brokers.size(), 1u);
  EXPECT_EQ(result->brokers[0].name, "sim");
  EXPECT_EQ(result->brokers[0].data_dictionary,
            std::string(BROKERGW_SOURCE_DIR) + "/fixspec/FIX44.brokergw.xml");
}

// docs/CONFIGURATION.md embeds the generated reference between two markers. Run with
// BROKERGW_UPDATE_DOCS=1 to rewrite that part from the key table.
TEST(ConfigReference, DocsMatchTheKeyTable) {
  constexpr std::string_view kBegin = "<!-- BEGIN GENERATED: brokergw --print-config-doc -->\n";
  constexpr std::string_view kEnd = "<!-- END GENERATED -->";
  const std::string path = std::string(BROKERGW_SOURCE_DIR) + "/docs/CONFIGURATION.md";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string doc = buffer.str();
  const auto begin = doc.find(kBegin);
  ASSERT_NE(begin, std::string::npos) << "begin marker missing in " << path;
  const auto body = begin + kBegin.size();
  const auto end = doc.find(kEnd, body);
  ASSERT_NE(end, std::string::npos) << "end marker missing in " << path;

  const std::string generated = configuration_reference_markdown();
  if (doc.compare(body, end - body, generated) != 0 && std::getenv("BROKERGW_UPDATE_DOCS")) {
    std::ofstream(path, std::ios::binary) << doc.substr(0, body) << generated << doc.substr(end);
    GTEST_SKIP() << "rewrote the generated part of " << path;
  }
  EXPECT_EQ(doc.substr(body, end - body), generated)
      << path << " is out of date; rerun this test with BROKERGW_UPDATE_DOCS=1";
}

TEST(ConfigReference, NamesEveryKey) {
  const std::string doc = configuration_reference_markdown();
  for (std::string_view key : {"`[gateway]`",
                               "`instance_id`",
                               "`state_dir`",
                               "`log_level`",
                               "`[api]`",
                               "`listen_address`",
                               "`listen_port`",
                               "`threads`",
                               "`max_body_bytes`",
                               "`token_file`",
                               "`[store]`",
                               "`map_size_mb`",
                               "`max_batch`",
                               "`[brokers.<name>]`",
                               "`type`",
                               "`host`",
                               "`port`",
                               "`fix_version`",
                               "`sender_comp_id`",
                               "`target_comp_id`",
                               "`data_dictionary`",
                               "`heartbeat_interval_s`",
                               "`reconnect_interval_s`",
                               "`queue_capacity`",
                               "`username`",
                               "`password_file`"}) {
    EXPECT_NE(doc.find(key), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace brokergw::config
