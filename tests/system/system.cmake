# System tests: the real gateway and simulator processes end to end over loopback, each test
# binary with the harness (tests/system/harness.h) and the paths of the executables it runs.
include(GoogleTest)

function(brokergw_system_test name labels)
  add_executable(${name} ${PROJECT_SOURCE_DIR}/tests/system/harness.cpp ${ARGN})
  target_link_libraries(${name} PRIVATE GTest::gtest_main PkgConfig::HTTPLIB
    nlohmann_json::nlohmann_json Threads::Threads)
  target_compile_definitions(${name} PRIVATE
    BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    BROKERGW_BIN="$<TARGET_FILE:brokergw>"
    BROKERSIM_BIN="$<TARGET_FILE:brokersim>")
  add_dependencies(${name} brokergw brokersim)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 180 LABELS ${labels})
endfunction()

if(TARGET brokergw AND TARGET brokersim)
  # The order path: submit, fills, cancel, reject, idempotency, kill -9.
  brokergw_system_test(system_order_path system
    ${PROJECT_SOURCE_DIR}/tests/system/order_path_test.cpp)
  # The overseas link: timeouts, unknown resolution, backoff, isolation, session recovery.
  brokergw_system_test(system_link system
    ${PROJECT_SOURCE_DIR}/tests/system/link_test.cpp)
  # Resolution against real FIX counterparties: duplicate rejects, 35=j, PendingNew answers,
  # "unknown order" after a reconnect, a cancel in flight at kill -9.
  brokergw_system_test(system_resolution system
    ${PROJECT_SOURCE_DIR}/tests/system/resolution_test.cpp)
  brokergw_system_test(system_bounds system ${PROJECT_SOURCE_DIR}/tests/system/bounds_test.cpp)
  # A broker's dialect: ExecutionReports with tags our dictionary does not define for them.
  brokergw_system_test(system_dialect system ${PROJECT_SOURCE_DIR}/tests/system/dialect_test.cpp)
  # A broker that reset its sequence numbers: alert, reconnect backoff, operator reset.
  brokergw_system_test(system_session system ${PROJECT_SOURCE_DIR}/tests/system/session_test.cpp)
  # Counterparties that bend our assumptions as FIX allows: ExecIDs restarting at 1, ExecID 0
  # on status answers, GapFill-only resends, refused status, busts, corrections, strays.
  brokergw_system_test(system_counterparty system
    ${PROJECT_SOURCE_DIR}/tests/system/counterparty_test.cpp)
  # The event pipeline; Kafka is librdkafka's mock cluster hosted by the test process.
  if(TARGET brokergw_kafka_mock)
    brokergw_system_test(system_events system
      ${PROJECT_SOURCE_DIR}/tests/system/events_test.cpp)
    target_link_libraries(system_events PRIVATE brokergw_kafka_mock)
  endif()
endif()
