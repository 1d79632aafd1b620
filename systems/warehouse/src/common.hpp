// Shared by the three warehouse services: configuration from the
// environment, stdout logging, the rabbitmq-c connection and the
// PostgreSQL connection string.
#pragma once

#include <amqp.h>

#include <cstdint>
#include <string>

namespace warehouse {

// The topic exchange product-service publishes product.created to.
inline const char* const kEventsExchange = "warehouse.events";
inline const char* const kProductCreated = "product.created";
// Phase 2: the dead-letter exchange (direct), and each queue's dead-letter
// queue is "<queue>.dlq", bound to it with the queue's name.
inline const char* const kDeadLetterExchange = "warehouse.dlx";

// env returns the variable's value, or def when it is unset or empty.
std::string env(const char* name, const std::string& def = "");

// env_int is env read as an integer; def when unset, empty or not a number.
long env_int(const char* name, long def);

// log writes "<service>: <message>" to stdout and flushes it. Safe for
// concurrent use.
void log(const std::string& service, const std::string& message);

// AmqpConnection is one rabbitmq-c connection with channel 1 open. Not
// safe for concurrent use (rabbitmq-c connections are not).
class AmqpConnection {
public:
  // Connects to url (amqp://user:pass@host:port/vhost), logs in with
  // heartbeat 0 and opens channel 1; throws std::runtime_error on failure.
  explicit AmqpConnection(const std::string& url);
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  amqp_connection_state_t get() const { return conn_; }
  static constexpr amqp_channel_t channel = 1;

  // check throws std::runtime_error naming what when the last RPC on the
  // connection failed.
  void check(const std::string& what) const;

  // declare_exchange declares a durable exchange of type.
  void declare_exchange(const std::string& name, const std::string& type);

private:
  amqp_connection_state_t conn_ = nullptr;
};

// describe_reply puts an rabbitmq-c RPC reply into words.
std::string describe_reply(const amqp_rpc_reply_t& r);

// db_conninfo is url with the schema as the session's search_path (libpq's
// "options"), so that a reconnected session keeps it.
std::string db_conninfo(const std::string& url, const std::string& schema);

// migrate runs ddl in schema, created first if missing, under an advisory
// lock, so that replicas starting together do not collide.
void migrate(const std::string& conninfo, const std::string& schema, const std::string& ddl);

}  // namespace warehouse
