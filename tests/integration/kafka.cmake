# Integration tests of the Kafka event sink (adapters/kafka, docs/EVENTS.md) against
# librdkafka's in-process mock cluster on loopback, read back by a real consumer.
include(GoogleTest)

add_library(brokergw_kafka_mock STATIC
  ${PROJECT_SOURCE_DIR}/tests/integration/kafka_mock.cpp)
target_link_libraries(brokergw_kafka_mock PUBLIC PkgConfig::RDKAFKA)

add_executable(integration_kafka
  ${PROJECT_SOURCE_DIR}/tests/integration/kafka_sink_test.cpp)
target_link_libraries(integration_kafka PRIVATE
  brokergw_kafka brokergw_kafka_mock GTest::gtest_main Threads::Threads)

gtest_discover_tests(integration_kafka
  DISCOVERY_TIMEOUT 30
  PROPERTIES TIMEOUT 180 LABELS "kafka")
