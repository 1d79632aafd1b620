// product-service: POST /api/v1/products stores a product and publishes
// product.created to the topic exchange warehouse.events.
#include "common.hpp"

#include <amqp.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <memory>
#include <mutex>
#include <string>

using json = nlohmann::json;
using namespace warehouse;

namespace {

const char* const kService = "product-service";

const char* const kProductsDDL =
    "CREATE TABLE IF NOT EXISTS products ("
    " id BIGSERIAL PRIMARY KEY,"
    " sku TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " created_at TIMESTAMPTZ NOT NULL DEFAULT now())";

// Publisher is the service's one AMQP connection, shared by the HTTP
// threads under a mutex. It is opened at start and never reopened.
class Publisher {
public:
  explicit Publisher(const std::string& url) : amqp_(url) { amqp_.declare_exchange(kEventsExchange, "topic"); }

  // publish sends body as a persistent product.created; it returns the
  // rabbitmq-c status (AMQP_STATUS_OK once the frames are written).
  int publish(const std::string& body) {
    std::lock_guard<std::mutex> lock(mu_);
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = 2;  // persistent
    return amqp_basic_publish(amqp_.get(), AmqpConnection::channel, amqp_cstring_bytes(kEventsExchange),
                              amqp_cstring_bytes(kProductCreated), /*mandatory*/ 0, /*immediate*/ 0, &props,
                              amqp_cstring_bytes(body.c_str()));
  }

private:
  std::mutex mu_;
  AmqpConnection amqp_;
};

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

int main() {
  std::signal(SIGPIPE, SIG_IGN);
  std::string schema = env("DB_SCHEMA", "product_db");
  std::string conninfo = db_conninfo(env("DATABASE_URL", "postgres://localhost/warehouse"), schema);
  try {
    migrate(conninfo, schema, kProductsDDL);
  } catch (const std::exception& e) {
    log(kService, std::string("creating products: ") + e.what());
    return 1;
  }
  std::unique_ptr<Publisher> publisher;
  try {
    publisher = std::make_unique<Publisher>(env("AMQP_URL", "amqp://guest:guest@localhost:5672/"));
  } catch (const std::exception& e) {
    log(kService, std::string("connecting to RabbitMQ: ") + e.what());
    return 1;
  }

  httplib::Server http;
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });

  http.Post("/api/v1/products", [&](const httplib::Request& req, httplib::Response& res) {
    std::string sku, name;
    try {
      json in = json::parse(req.body);
      sku = in.at("sku").get<std::string>();
      name = in.at("name").get<std::string>();
    } catch (const std::exception& e) {
      reply(res, 400, {{"error", std::string("invalid product: ") + e.what()}});
      return;
    }
    if (sku.empty() || name.empty()) {
      reply(res, 400, {{"error", "sku and name are required"}});
      return;
    }
    json product;
    try {
      pqxx::connection c(conninfo);
      pqxx::work tx(c);
      pqxx::row row = tx.exec_params1(
          "INSERT INTO products (sku, name) VALUES ($1, $2) "
          "RETURNING id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
          sku, name);
      tx.commit();
      product = {{"id", row[0].as<long long>()}, {"sku", sku}, {"name", name}, {"created_at", row[1].c_str()}};
    } catch (const pqxx::unique_violation&) {
      reply(res, 409, {{"error", "product " + sku + " already exists"}});
      return;
    } catch (const std::exception& e) {
      log(kService, "storing product " + sku + " failed: " + e.what());
      reply(res, 500, {{"error", std::string("storing product: ") + e.what()}});
      return;
    }
    log(kService, "product " + sku + " stored");
    int rc = publisher->publish(product.dump());
    if (rc != AMQP_STATUS_OK) {
      log(kService, "publishing product.created for " + sku + " failed: " + amqp_error_string2(rc));
      reply(res, 500, {{"error", std::string("publishing product.created: ") + amqp_error_string2(rc)}});
      return;
    }
    log(kService, "product.created published for " + sku);
    reply(res, 201, product);
  });

  http.Get("/api/v1/products", [&](const httplib::Request&, httplib::Response& res) {
    try {
      pqxx::connection c(conninfo);
      pqxx::read_transaction tx(c);
      json out = json::array();
      for (const auto& row : tx.exec(
               "SELECT id, sku, name, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
               "FROM products ORDER BY id")) {
        out.push_back({{"id", row[0].as<long long>()}, {"sku", row[1].c_str()}, {"name", row[2].c_str()},
                       {"created_at", row[3].c_str()}});
      }
      reply(res, 200, out);
    } catch (const std::exception& e) {
      reply(res, 500, {{"error", e.what()}});
    }
  });

  int port = static_cast<int>(env_int("PORT", 8080));
  log(kService, "listening on :" + std::to_string(port));
  if (!http.listen("0.0.0.0", port)) {
    log(kService, "cannot listen on :" + std::to_string(port));
    return 1;
  }
  return 0;
}
