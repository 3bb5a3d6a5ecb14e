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
