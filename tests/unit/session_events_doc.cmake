# unit_session_events_doc: docs/EVENTS.md lists exactly the session event types
# (gateway/events/session_events.cpp is their one name table).
include(GoogleTest)
add_executable(unit_session_events_doc ${PROJECT_SOURCE_DIR}/tests/unit/session_events_doc_test.cpp)
target_link_libraries(unit_session_events_doc PRIVATE brokergw_events GTest::gtest_main)
target_compile_definitions(unit_session_events_doc PRIVATE BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(unit_session_events_doc DISCOVERY_TIMEOUT 30)
