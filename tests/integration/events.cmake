# The event pipeline's store-side jobs (retention) on real LMDB files.
include(GoogleTest)
add_executable(integration_events ${PROJECT_SOURCE_DIR}/tests/integration/retention_test.cpp)
target_link_libraries(integration_events PRIVATE brokergw_events GTest::gtest_main)
gtest_discover_tests(integration_events DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 60 LABELS integration)
