#include "product_cache_consumer.hpp"

int main() {
  return warehouse::run_product_cache_consumer({"inventory-service", "inventory-service-products", "inventory_db"});
}
