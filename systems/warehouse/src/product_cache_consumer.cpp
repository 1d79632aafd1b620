#include "product_cache_consumer.hpp"

#include "common.hpp"

#include <amqp.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace warehouse {
namespace {

using json = nlohmann::json;

// Flags are the consumer's queue and consume flags, as the team wrote them
// in each phase.
struct Flags {
  bool durable;
  bool exclusive;
  bool auto_delete;
  bool no_ack;
  bool dead_letter;  // phase 2: the queue dead-letters to warehouse.dlx
};

// flags_from_env reads CONSUMER_PHASE ("first", "1" or "2"), then lets
// QUEUE_DURABLE, QUEUE_EXCLUSIVE, QUEUE_AUTO_DELETE, NO_ACK and
// DEAD_LETTER (0 or 1) override one flag each.
Flags flags_from_env() {
  std::string phase = env("CONSUMER_PHASE", "2");
  Flags f;
  if (phase == "first") {
    f = {false, true, true, true, false};
  } else if (phase == "1") {
    f = {true, false, false, false, false};
  } else if (phase == "2") {
    f = {true, false, false, false, true};
  } else {
    throw std::runtime_error("CONSUMER_PHASE " + phase + ": want first, 1 or 2");
  }
  auto over = [](const char* name, bool& flag) {
    std::string v = env(name);
    if (v == "1") flag = true;
    if (v == "0") flag = false;
  };
  over("QUEUE_DURABLE", f.durable);
  over("QUEUE_EXCLUSIVE", f.exclusive);
  over("QUEUE_AUTO_DELETE", f.auto_delete);
  over("NO_ACK", f.no_ack);
  over("DEAD_LETTER", f.dead_letter);
  return f;
}

std::string describe(const Flags& f) {
  return "durable=" + std::to_string(f.durable) + " exclusive=" + std::to_string(f.exclusive) +
         " auto_delete=" + std::to_string(f.auto_delete) + " no_ack=" + std::to_string(f.no_ack) +
         " dead_letter=" + std::to_string(f.dead_letter);
}

// retry_count reads the x-retry-count header; 0 when it is missing.
// Nothing sets it yet: retry count tracking is planned for later.
long retry_count(const amqp_basic_properties_t& props) {
  if (!(props._flags & AMQP_BASIC_HEADERS_FLAG)) return 0;
  for (int i = 0; i < props.headers.num_entries; ++i) {
    const amqp_table_entry_t& e = props.headers.entries[i];
    if (std::string(static_cast<char*>(e.key.bytes), e.key.len) != "x-retry-count") continue;
    switch (e.value.kind) {
      case AMQP_FIELD_KIND_I8: return e.value.value.i8;
      case AMQP_FIELD_KIND_U8: return e.value.value.u8;
      case AMQP_FIELD_KIND_I16: return e.value.value.i16;
      case AMQP_FIELD_KIND_U16: return e.value.value.u16;
      case AMQP_FIELD_KIND_I32: return e.value.value.i32;
      case AMQP_FIELD_KIND_U32: return e.value.value.u32;
      case AMQP_FIELD_KIND_I64: return static_cast<long>(e.value.value.i64);
      case AMQP_FIELD_KIND_U64: return static_cast<long>(e.value.value.u64);
      default: return 0;
    }
  }
  return 0;
}

class Consumer {
public:
  Consumer(ConsumerService svc, Flags flags, std::string amqp_url, std::string conninfo, std::string replica,
           long max_retries)
      : svc_(std::move(svc)), flags_(flags), amqp_url_(std::move(amqp_url)), conninfo_(std::move(conninfo)),
        replica_(std::move(replica)), max_retries_(max_retries) {}

  // run consumes until the connection or the channel fails; then it logs
  // why and returns. There is no reconnection yet.
  void run() {
    try {
      AmqpConnection amqp(amqp_url_);
      declare(amqp);
      consume(amqp);
    } catch (const std::exception& e) {
      log(svc_.name, std::string("consumer stopped: ") + e.what());
    }
  }

private:
  void declare(AmqpConnection& amqp) {
    amqp.declare_exchange(kEventsExchange, "topic");
    amqp_table_t args = amqp_empty_table;
    amqp_table_entry_t entries[2];
    std::string dlq = svc_.queue + ".dlq";
    if (flags_.dead_letter) {
      amqp.declare_exchange(kDeadLetterExchange, "direct");
      amqp_queue_declare(amqp.get(), AmqpConnection::channel, amqp_cstring_bytes(dlq.c_str()), 0, 1, 0, 0,
                         amqp_empty_table);
      amqp.check("declaring queue " + dlq);
      amqp_queue_bind(amqp.get(), AmqpConnection::channel, amqp_cstring_bytes(dlq.c_str()),
                      amqp_cstring_bytes(kDeadLetterExchange), amqp_cstring_bytes(svc_.queue.c_str()),
                      amqp_empty_table);
      amqp.check("binding queue " + dlq);
      entries[0].key = amqp_cstring_bytes("x-dead-letter-exchange");
      entries[0].value.kind = AMQP_FIELD_KIND_UTF8;
      entries[0].value.value.bytes = amqp_cstring_bytes(kDeadLetterExchange);
      entries[1].key = amqp_cstring_bytes("x-dead-letter-routing-key");
      entries[1].value.kind = AMQP_FIELD_KIND_UTF8;
      entries[1].value.value.bytes = amqp_cstring_bytes(svc_.queue.c_str());
      args.num_entries = 2;
      args.entries = entries;
    }
    amqp_queue_declare(amqp.get(), AmqpConnection::channel, amqp_cstring_bytes(svc_.queue.c_str()), /*passive*/ 0,
                       flags_.durable, flags_.exclusive, flags_.auto_delete, args);
    amqp.check("declaring queue " + svc_.queue);
    amqp_queue_bind(amqp.get(), AmqpConnection::channel, amqp_cstring_bytes(svc_.queue.c_str()),
                    amqp_cstring_bytes(kEventsExchange), amqp_cstring_bytes(kProductCreated), amqp_empty_table);
    amqp.check("binding queue " + svc_.queue);
  }

  void consume(AmqpConnection& amqp) {
    amqp_basic_consume(amqp.get(), AmqpConnection::channel, amqp_cstring_bytes(svc_.queue.c_str()), amqp_empty_bytes,
                       /*no_local*/ 0, flags_.no_ack, /*exclusive*/ 0, amqp_empty_table);
    amqp.check("consuming from " + svc_.queue);
    log(svc_.name, "consuming from " + svc_.queue + " (" + describe(flags_) + ")");
    for (;;) {
      amqp_maybe_release_buffers(amqp.get());
      amqp_envelope_t envelope;
      amqp_rpc_reply_t r = amqp_consume_message(amqp.get(), &envelope, nullptr, 0);
      if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        throw std::runtime_error(why_not_delivered(amqp, r));
      }
      handle(amqp, envelope);
      amqp_destroy_envelope(&envelope);
    }
  }

  // why_not_delivered reads what came instead of a delivery.
  static std::string why_not_delivered(AmqpConnection& amqp, const amqp_rpc_reply_t& r) {
    if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION || r.library_error != AMQP_STATUS_UNEXPECTED_STATE) {
      return describe_reply(r);
    }
    amqp_frame_t frame;
    if (amqp_simple_wait_frame(amqp.get(), &frame) != AMQP_STATUS_OK) return "connection lost";
    if (frame.frame_type != AMQP_FRAME_METHOD) return "unexpected frame";
    switch (frame.payload.method.id) {
      case AMQP_BASIC_CANCEL_METHOD:
        return "consumer cancelled by the broker";
      case AMQP_CHANNEL_CLOSE_METHOD: {
        auto* m = static_cast<amqp_channel_close_t*>(frame.payload.method.decoded);
        return "channel closed by the broker: " + std::to_string(m->reply_code) + " " +
               std::string(static_cast<char*>(m->reply_text.bytes), m->reply_text.len);
      }
      case AMQP_CONNECTION_CLOSE_METHOD: {
        auto* m = static_cast<amqp_connection_close_t*>(frame.payload.method.decoded);
        return "connection closed by the broker: " + std::to_string(m->reply_code) + " " +
               std::string(static_cast<char*>(m->reply_text.bytes), m->reply_text.len);
      }
    }
    return "unexpected method " + std::to_string(frame.payload.method.id);
  }

  void handle(AmqpConnection& amqp, const amqp_envelope_t& envelope) {
    std::string body(static_cast<char*>(envelope.message.body.bytes), envelope.message.body.len);
    try {
      process(body);
      if (!flags_.no_ack) {
        amqp_basic_ack(amqp.get(), AmqpConnection::channel, envelope.delivery_tag, 0);
      }
      return;
    } catch (const std::exception& e) {
      if (flags_.no_ack) {
        log(svc_.name, std::string("processing failed: ") + e.what() + "; dropped (no_ack)");
        return;
      }
      long retries = retry_count(envelope.message.properties);
      bool requeue = retries < max_retries_;
      log(svc_.name, std::string("processing failed: ") + e.what() + "; nack " +
                         (requeue ? "with requeue" : "without requeue") + " (retry_count " + std::to_string(retries) +
                         ", MAX_RETRIES " + std::to_string(max_retries_) + ")");
      amqp_basic_nack(amqp.get(), AmqpConnection::channel, envelope.delivery_tag, 0, requeue ? 1 : 0);
    }
  }

  // process writes the product into product_cache; it throws when the body
  // is not a product or the database fails.
  void process(const std::string& body) {
    json j = json::parse(body);
    std::string sku = j.at("sku").get<std::string>();
    std::string name = j.at("name").get<std::string>();
    if (!db_ || !db_->is_open()) db_ = std::make_unique<pqxx::connection>(conninfo_);
    try {
      pqxx::work tx(*db_);
      tx.exec_params(
          "INSERT INTO product_cache (sku, name, cached_at, cached_by) VALUES ($1, $2, now(), $3) "
          "ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, cached_at = now(), cached_by = EXCLUDED.cached_by",
          sku, name, replica_);
      tx.commit();
    } catch (const pqxx::broken_connection&) {
      db_.reset();
      throw;
    }
    log(svc_.name, "product " + sku + " cached by " + replica_);
  }

  ConsumerService svc_;
  Flags flags_;
  std::string amqp_url_;
  std::string conninfo_;
  std::string replica_;
  long max_retries_;
  std::unique_ptr<pqxx::connection> db_;
};

const char* const kProductCacheDDL =
    "CREATE TABLE IF NOT EXISTS product_cache ("
    " sku TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " cached_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " cached_by TEXT NOT NULL DEFAULT '')";

}  // namespace

int run_product_cache_consumer(const ConsumerService& defaults) {
  std::signal(SIGPIPE, SIG_IGN);
  ConsumerService svc = defaults;
  svc.db_schema = env("DB_SCHEMA", defaults.db_schema);
  svc.queue = env("QUEUE", defaults.queue);
  Flags flags;
  try {
    flags = flags_from_env();
  } catch (const std::exception& e) {
    log(svc.name, e.what());
    return 2;
  }
  std::string conninfo = db_conninfo(env("DATABASE_URL", "postgres://localhost/warehouse"), svc.db_schema);
  try {
    migrate(conninfo, svc.db_schema, kProductCacheDDL);
  } catch (const std::exception& e) {
    log(svc.name, std::string("creating product_cache: ") + e.what());
    return 1;
  }

  Consumer consumer(svc, flags, env("AMQP_URL", "amqp://guest:guest@localhost:5672/"), conninfo,
                    env("REPLICA_ID", svc.name), env_int("MAX_RETRIES", 3));
  std::thread consumer_thread([&consumer] { consumer.run(); });
  consumer_thread.detach();

  httplib::Server http;
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http.Get("/api/v1/product-cache", [&](const httplib::Request&, httplib::Response& res) {
    try {
      pqxx::connection c(conninfo);
      pqxx::read_transaction tx(c);
      json out = json::array();
      for (const auto& row : tx.exec(
               "SELECT sku, name, to_char(cached_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), cached_by "
               "FROM product_cache ORDER BY cached_at, sku")) {
        out.push_back({{"sku", row[0].c_str()}, {"name", row[1].c_str()}, {"cached_at", row[2].c_str()},
                       {"cached_by", row[3].c_str()}});
      }
      res.set_content(out.dump(), "application/json");
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(json{{"error", e.what()}}.dump(), "application/json");
    }
  });
  int port = static_cast<int>(env_int("PORT", 8080));
  log(svc.name, "listening on :" + std::to_string(port));
  if (!http.listen("0.0.0.0", port)) {
    log(svc.name, "cannot listen on :" + std::to_string(port));
    return 1;
  }
  return 0;
}

}  // namespace warehouse
