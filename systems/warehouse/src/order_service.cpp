#include "product_cache_consumer.hpp"

int main() {
  return warehouse::run_product_cache_consumer({"order-service", "order-service-products", "order_db"});
}
