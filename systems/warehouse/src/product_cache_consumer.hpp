// The product_cache consumer that inventory-service and order-service
// share: each consumes product.created from a queue of its own and
// upserts the product into the product_cache table of its own database.
#pragma once

#include <string>

namespace warehouse {

// ConsumerService names one consuming service.
struct ConsumerService {
  std::string name;       // "inventory-service"; the prefix of every log line
  std::string queue;      // "inventory-service-products"
  std::string db_schema;  // "inventory_db", unless DB_SCHEMA says otherwise
};

// run_product_cache_consumer is a consuming service's main: it reads the
// environment, creates product_cache, starts the consumer thread and
// serves HTTP until the process is killed. Returns the exit status.
int run_product_cache_consumer(const ConsumerService& svc);

}  // namespace warehouse
