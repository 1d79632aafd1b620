#include "common.hpp"

#include <amqp_tcp_socket.h>

#include <pqxx/pqxx>

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace warehouse {

std::string env(const char* name, const std::string& def) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return def;
  return v;
}

long env_int(const char* name, long def) {
  std::string v = env(name);
  if (v.empty()) return def;
  try {
    return std::stol(v);
  } catch (const std::exception&) {
    return def;
  }
}

void log(const std::string& service, const std::string& message) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::cout << service << ": " << message << std::endl;
}

std::string describe_reply(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "ok";
    case AMQP_RESPONSE_NONE:
      return "missing RPC reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return "server connection error " + std::to_string(m->reply_code) + ": " +
               std::string(static_cast<char*>(m->reply_text.bytes), m->reply_text.len);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return "server channel error " + std::to_string(m->reply_code) + ": " +
               std::string(static_cast<char*>(m->reply_text.bytes), m->reply_text.len);
      }
      return "unknown server error, method id " + std::to_string(r.reply.id);
  }
  return "unknown reply type";
}

AmqpConnection::AmqpConnection(const std::string& url) {
  std::vector<char> buf(url.begin(), url.end());
  buf.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) {
    throw std::runtime_error("invalid AMQP_URL");
  }
  conn_ = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn_);
  if (socket == nullptr) throw std::runtime_error("creating TCP socket");
  int rc = amqp_socket_open(socket, info.host, info.port);
  if (rc != AMQP_STATUS_OK) {
    throw std::runtime_error(std::string("opening TCP socket: ") + amqp_error_string2(rc));
  }
  // channel_max 0, frame_max 131072, heartbeat 0: as in rabbitmq-c's examples.
  amqp_rpc_reply_t r = amqp_login(conn_, info.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) throw std::runtime_error("logging in: " + describe_reply(r));
  amqp_channel_open(conn_, channel);
  check("opening channel");
}

AmqpConnection::~AmqpConnection() {
  if (conn_ == nullptr) return;
  amqp_channel_close(conn_, channel, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn_);
}

void AmqpConnection::check(const std::string& what) const {
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn_);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) throw std::runtime_error(what + ": " + describe_reply(r));
}

void AmqpConnection::declare_exchange(const std::string& name, const std::string& type) {
  amqp_exchange_declare(conn_, channel, amqp_cstring_bytes(name.c_str()), amqp_cstring_bytes(type.c_str()),
                        /*passive*/ 0, /*durable*/ 1, /*auto_delete*/ 0, /*internal*/ 0, amqp_empty_table);
  check("declaring exchange " + name);
}

std::string db_conninfo(const std::string& url, const std::string& schema) {
  if (schema.empty()) return url;
  std::string sep = url.find('?') == std::string::npos ? "?" : "&";
  return url + sep + "options=-csearch_path%3D" + schema;
}

void migrate(const std::string& conninfo, const std::string& schema, const std::string& ddl) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec("SELECT pg_advisory_xact_lock(hashtext(" + tx.quote("warehouse:" + schema) + "))");
  tx.exec("CREATE SCHEMA IF NOT EXISTS " + tx.quote_name(schema));
  tx.exec("SET LOCAL search_path TO " + tx.quote_name(schema));
  tx.exec(ddl);
  tx.commit();
}

}  // namespace warehouse
