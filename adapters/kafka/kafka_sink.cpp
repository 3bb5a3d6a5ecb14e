// The Kafka event sink: an idempotent librdkafka producer behind events::EventSink.
// See kafka_sink.h for the thread model and invariants, docs/EVENTS.md for the guarantees.
#include "adapters/kafka/kafka_sink.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <exception>
#include <string_view>

namespace brokergw::adapters::kafka {
namespace {

using events::EventSink;
using events::OutboundEvent;
using events::SinkErrc;
using events::SinkError;

static_assert(sizeof(void*) >= sizeof(std::uint64_t), "the per-message opaque carries the seq");

// How long the destructor waits for outstanding deliveries before purging them.
constexpr int kShutdownFlushMs = 2000;

// Properties that carry the sink's guarantees or are set from KafkaSinkConfig fields: `extra`
// may not touch them.
constexpr std::array<std::string_view, 20> kReservedProperties = {
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "max.in.flight",
    "max.in.flight.requests.per.connection",
    "retries",
    "message.send.max.retries",
    "queue.buffering.max.messages",
    "linger.ms",
    "queue.buffering.max.ms",
    "bootstrap.servers",
    "metadata.broker.list",
    "client.id",
    "partitioner",
    "dr_cb",
    "dr_msg_cb",
    "error_cb",
    "opaque",
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// True when a property's value must never reach a log or an error message.
bool is_secret(std::string_view name) {
  const std::string n = lower(name);
  for (std::string_view word : {"password", "secret", "key", "oauthbearer.config", "jaas"}) {
    if (n.find(word) != std::string::npos) return true;
  }
  return false;
}

bool is_reserved(std::string_view name) {
  const std::string n = lower(name);
  return std::find(kReservedProperties.begin(), kReservedProperties.end(), n) !=
         kReservedProperties.end();
}

std::uint64_t seq_of(const rd_kafka_message_t* msg) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(msg->_private));
}

// Owns an rd_kafka_conf_t until rd_kafka_new() takes it.
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

tl::expected<void, std::string> set_property(rd_kafka_conf_t* conf, const std::string& name,
                                             const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    // librdkafka quotes the value in its message: keep secrets out of it.
    return tl::unexpected(
        "kafka property '" + name +
        "': " + (is_secret(name) ? std::string("invalid value (hidden)") : std::string(errstr)));
  }
  spdlog::info("kafka sink: {}={}", name, is_secret(name) ? "<hidden>" : value);
  return {};
}

bool has_builtin_feature(rd_kafka_conf_t* conf, std::string_view feature) {
  char buf[512];
  std::size_t size = sizeof(buf);
  if (rd_kafka_conf_get(conf, "builtin.features", buf, &size) != RD_KAFKA_CONF_OK) return false;
  std::string_view features(buf);
  std::size_t pos = 0;
  while (pos <= features.size()) {
    std::size_t comma = features.find(',', pos);
    if (comma == std::string_view::npos) comma = features.size();
    if (features.substr(pos, comma - pos) == feature) return true;
    pos = comma + 1;
  }
  return false;
}

class KafkaSink final : public EventSink {
 public:
  explicit KafkaSink(DeliveryFn on_delivery) : on_delivery_(std::move(on_delivery)) {}

  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  ~KafkaSink() override {
    if (rk_ == nullptr) return;
    rd_kafka_flush(rk_, kShutdownFlushMs);
    if (in_flight_.load() > 0) {
      spdlog::warn(
          "kafka sink: {} event(s) not acknowledged after {} ms at shutdown; purging them "
          "(they stay in the store and are published again after restart, same event ids)",
          in_flight_.load(), kShutdownFlushMs);
      rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      // Serve the purge reports so every accepted event gets its one callback.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_poll(rk_, 10);
      }
    }
    if (rkt_ != nullptr) rd_kafka_topic_destroy(rkt_);
    rd_kafka_destroy(rk_);
  }

  // Called once by make_kafka_sink(); `this` must already be at its final address because
  // librdkafka keeps it as the callback opaque.
  tl::expected<void, std::string> init(const KafkaSinkConfig& config) {
    if (config.bootstrap_servers.empty()) {
      return tl::unexpected(std::string("kafka property 'bootstrap.servers': empty"));
    }
    if (config.topic.empty()) return tl::unexpected(std::string("kafka topic: empty"));
    for (const auto& [name, value] : config.extra) {
      if (is_reserved(name)) {
        return tl::unexpected("kafka property '" + name +
                              "' is fixed by the event sink and may not be set in extra");
      }
    }

    ConfPtr conf(rd_kafka_conf_new());
    spdlog::info("kafka sink: topic={}", config.topic);
    auto set = [&](const std::string& name, const std::string& value) {
      return set_property(conf.get(), name, value);
    };
    std::vector<std::pair<std::string, std::string>> fixed = {
        {"bootstrap.servers", config.bootstrap_servers},
        // Idempotence: the broker drops the duplicates our own retries would create, and
        // retries keep their order with up to 5 requests in flight.
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"max.in.flight.requests.per.connection", "5"},
        // 0 = infinite: while Kafka is down, events wait in the producer queue instead of
        // timing out into delivery failures (docs/EVENTS.md, "When Kafka is down").
        {"message.timeout.ms", "0"},
        {"linger.ms", std::to_string(config.linger_ms)},
        {"queue.buffering.max.messages", std::to_string(config.queue_max_messages)},
        // Java-compatible key hashing; explicit so a changed librdkafka default cannot move an
        // account to another partition.
        {"partitioner", "murmur2_random"},
        {"compression.codec", has_builtin_feature(conf.get(), "lz4") ? "lz4" : "none"},
    };
    if (!config.client_id.empty()) fixed.emplace_back("client.id", config.client_id);
    for (const auto& [name, value] : fixed) {
      if (auto ok = set(name, value); !ok) return ok;
    }
    for (const auto& [name, value] : config.extra) {
      if (auto ok = set(name, value); !ok) return ok;
    }

    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaSink::on_delivery_report);
    rd_kafka_conf_set_error_cb(conf.get(), &KafkaSink::on_error);
    rd_kafka_conf_set_log_cb(conf.get(), &KafkaSink::on_log);

    char errstr[512];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr));
    if (rk_ == nullptr) return tl::unexpected("kafka producer: " + std::string(errstr));
    conf.release();  // owned by rk_ now

    rkt_ = rd_kafka_topic_new(rk_, config.topic.c_str(), nullptr);
    if (rkt_ == nullptr) {
      return tl::unexpected("kafka topic '" + config.topic +
                            "': " + rd_kafka_err2str(rd_kafka_last_error()));
    }
    spdlog::info("kafka sink: producer {} ready (librdkafka {})", rd_kafka_name(rk_),
                 rd_kafka_version_str());
    return {};
  }

  tl::expected<void, SinkError> produce(const OutboundEvent& event) override {
    if (fatal_.load()) return tl::unexpected(SinkError{SinkErrc::kFatal, fatal_reason_});
    if (event.key.empty()) {
      return tl::unexpected(SinkError{SinkErrc::kInvalid,
                                      "event " + std::to_string(event.seq) + " has an empty key"});
    }

    rd_kafka_headers_t* headers = rd_kafka_headers_new(event.headers.size());
    for (const auto& [name, value] : event.headers) {
      rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    }
    void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(event.seq));
    // RD_KAFKA_V_VALUE wants void*; with RD_KAFKA_MSG_F_COPY librdkafka only copies from it.
    char* value = const_cast<char*>(event.value.data());
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(rk_, RD_KAFKA_V_RKT(rkt_), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(event.key.data(), event.key.size()),
                          RD_KAFKA_V_VALUE(value, event.value.size()), RD_KAFKA_V_HEADERS(headers),
                          RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      in_flight_.fetch_add(1);
      return {};
    }

    rd_kafka_headers_destroy(headers);  // still ours: producev failed
    switch (err) {
      case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return tl::unexpected(SinkError{SinkErrc::kQueueFull, "producer queue full"});
      case RD_KAFKA_RESP_ERR__FATAL:
        mark_fatal();
        return tl::unexpected(SinkError{SinkErrc::kFatal, fatal_reason_});
      default:
        return tl::unexpected(SinkError{SinkErrc::kInvalid, "event " + std::to_string(event.seq) +
                                                                ": " + rd_kafka_err2str(err)});
    }
  }

  void poll(int timeout_ms) override { rd_kafka_poll(rk_, timeout_ms); }

  void flush(int timeout_ms) override { rd_kafka_flush(rk_, timeout_ms); }

  bool healthy() const override { return !fatal_.load(); }

  std::size_t in_flight() const override { return in_flight_.load(); }

 private:
  // Publisher thread (inside rd_kafka_poll/flush).
  void mark_fatal() {
    if (fatal_.load()) return;
    char errstr[512];
    const rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_, errstr, sizeof(errstr));
    fatal_reason_ =
        std::string("kafka producer fatal error: ") + rd_kafka_err2name(err) + ": " + errstr;
    spdlog::critical("kafka sink: {}", fatal_reason_);
    fatal_.store(true);
  }

  // Publisher thread (served by rd_kafka_poll/flush).
  static void on_delivery_report(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    self->in_flight_.fetch_sub(1);
    const std::uint64_t seq = seq_of(msg);
    const bool delivered = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    const std::string error = delivered ? std::string() : rd_kafka_err2str(msg->err);
    if (!delivered) {
      spdlog::warn("kafka sink: event {} not delivered: {} ({})", seq, error,
                   rd_kafka_err2name(msg->err));
    }
    try {
      self->on_delivery_(seq, delivered, error);
    } catch (const std::exception& e) {
      // Never let an exception unwind through librdkafka's C frames.
      spdlog::critical("kafka sink: delivery callback for event {} threw: {}", seq, e.what());
      self->fatal_reason_ = "delivery callback threw";
      self->fatal_.store(true);
    } catch (...) {
      spdlog::critical("kafka sink: delivery callback for event {} threw", seq);
      self->fatal_reason_ = "delivery callback threw";
      self->fatal_.store(true);
    }
  }

  // Publisher thread (served by rd_kafka_poll/flush).
  static void on_error(rd_kafka_t* /*rk*/, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      self->mark_fatal();
      return;
    }
    // Everything else is transient: librdkafka retries on its own, events wait in the queue.
    spdlog::warn("kafka sink: {}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
                 reason);
  }

  // Any librdkafka thread.
  static void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* buf) {
    // syslog levels: 0..3 error and worse, 4 warning, 5..6 notice/info, 7 debug.
    const auto lvl = level <= 3   ? spdlog::level::err
                     : level == 4 ? spdlog::level::warn
                     : level <= 6 ? spdlog::level::info
                                  : spdlog::level::debug;
    spdlog::log(lvl, "librdkafka {} {}: {}", rd_kafka_name(rk), facility, buf);
  }

  DeliveryFn on_delivery_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* rkt_ = nullptr;
  std::atomic<bool> fatal_{false};
  std::string fatal_reason_;  // written before fatal_ is set; publisher thread only
  std::atomic<std::size_t> in_flight_{0};
};

}  // namespace

tl::expected<std::unique_ptr<EventSink>, std::string> make_kafka_sink(
    const KafkaSinkConfig& config, EventSink::DeliveryFn on_delivery) {
  if (!on_delivery) return tl::unexpected(std::string("kafka sink: no delivery callback"));
  auto sink = std::make_unique<KafkaSink>(std::move(on_delivery));
  if (auto ok = sink->init(config); !ok) return tl::unexpected(ok.error());
  return std::unique_ptr<EventSink>(std::move(sink));
}

}  // namespace brokergw::adapters::kafka
