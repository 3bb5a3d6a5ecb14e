# Unit tests of the pure order core (gateway/core): decimals, order domain, state machine
# (every state x every event, scenarios, and a seeded randomized property test), the resolution
# rules (tables over every state and input, and a seeded simulation) and the resolution budget.
include(GoogleTest)
add_executable(unit_core
  ${PROJECT_SOURCE_DIR}/tests/unit/core_decimal_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/unit/core_order_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/unit/core_order_machine_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/unit/core_order_property_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/unit/core_backoff_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/unit/core_budget_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/unit/core_resolution_test.cpp
  ${PROJECT_SOURCE_DIR}/tests/unit/core_resolution_property_test.cpp)
target_link_libraries(unit_core PRIVATE brokergw_core GTest::gtest_main)
gtest_discover_tests(unit_core DISCOVERY_TIMEOUT 30)
