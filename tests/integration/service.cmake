# Service tests (tests/integration/service_test.cpp): the order service's threads in one
# process, on the in-memory store twin with injected faults, against a real brokersim process.
# Labels "integration" and "concurrency": CI's ThreadSanitizer build runs them (set by a
# script for the reason given in store.cmake).
include(GoogleTest)
include(${PROJECT_SOURCE_DIR}/tests/support/memory_store.cmake)
if(TARGET brokersim)
  add_executable(integration_service
    ${PROJECT_SOURCE_DIR}/tests/integration/service_test.cpp
    ${PROJECT_SOURCE_DIR}/tests/system/harness.cpp)
  target_link_libraries(integration_service PRIVATE brokergw_service brokergw_fix
    brokergw_config brokergw_test_store GTest::gtest_main PkgConfig::HTTPLIB
    nlohmann_json::nlohmann_json Threads::Threads)
  target_compile_definitions(integration_service PRIVATE
    BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    BROKERGW_BIN="$<TARGET_FILE:brokergw>"
    BROKERSIM_BIN="$<TARGET_FILE:brokersim>")
  add_dependencies(integration_service brokersim)
  if(TARGET brokergw_kafka_mock)
    target_sources(integration_service PRIVATE
      ${PROJECT_SOURCE_DIR}/tests/integration/service_stack_test.cpp)
    target_link_libraries(integration_service PRIVATE brokergw_api brokergw_kafka
      brokergw_kafka_mock)
  endif()
  gtest_discover_tests(integration_service
    DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT 120 LABELS integration)
  set(integration_service_labels ${CMAKE_CURRENT_BINARY_DIR}/integration_service_labels.cmake)
  file(WRITE ${integration_service_labels}
    "foreach(t IN LISTS integration_service_TESTS)\n"
    "  set_tests_properties(\"\${t}\" PROPERTIES LABELS \"integration;concurrency\")\n"
    "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${integration_service_labels})
endif()
