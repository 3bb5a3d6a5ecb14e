# System tests: the gateway and simulator processes end to end over loopback.
if(TARGET brokergw AND TARGET brokersim)
  include(GoogleTest)
  add_executable(system_order_path
    ${PROJECT_SOURCE_DIR}/tests/system/harness.cpp
    ${PROJECT_SOURCE_DIR}/tests/system/order_path_test.cpp)
  target_link_libraries(system_order_path PRIVATE GTest::gtest_main PkgConfig::HTTPLIB
    nlohmann_json::nlohmann_json Threads::Threads)
  target_compile_definitions(system_order_path PRIVATE
    BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    BROKERGW_BIN="$<TARGET_FILE:brokergw>"
    BROKERSIM_BIN="$<TARGET_FILE:brokersim>")
  add_dependencies(system_order_path brokergw brokersim)
  gtest_discover_tests(system_order_path DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT 120 LABELS system)
endif()

# The event pipeline end to end: gateway + simulator processes, Kafka = librdkafka's mock
# cluster hosted by the test process on loopback.
if(TARGET brokergw AND TARGET brokersim AND TARGET brokergw_kafka_mock)
  add_executable(system_events
    ${PROJECT_SOURCE_DIR}/tests/system/harness.cpp
    ${PROJECT_SOURCE_DIR}/tests/system/events_test.cpp)
  target_link_libraries(system_events PRIVATE GTest::gtest_main brokergw_kafka_mock
    PkgConfig::HTTPLIB nlohmann_json::nlohmann_json Threads::Threads)
  target_compile_definitions(system_events PRIVATE
    BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    BROKERGW_BIN="$<TARGET_FILE:brokergw>"
    BROKERSIM_BIN="$<TARGET_FILE:brokersim>")
  add_dependencies(system_events brokergw brokersim)
  gtest_discover_tests(system_events DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT 180 LABELS "system;kafka")
endif()

# The overseas link: timeouts, unknown resolution, backoff, isolation, session recovery.
if(TARGET brokergw AND TARGET brokersim)
  add_executable(system_link
    ${PROJECT_SOURCE_DIR}/tests/system/harness.cpp
    ${PROJECT_SOURCE_DIR}/tests/system/link_test.cpp)
  target_link_libraries(system_link PRIVATE GTest::gtest_main PkgConfig::HTTPLIB
    nlohmann_json::nlohmann_json Threads::Threads)
  target_compile_definitions(system_link PRIVATE
    BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    BROKERGW_BIN="$<TARGET_FILE:brokergw>"
    BROKERSIM_BIN="$<TARGET_FILE:brokersim>")
  add_dependencies(system_link brokergw brokersim)
  gtest_discover_tests(system_link DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT 120 LABELS "system;link")
endif()
