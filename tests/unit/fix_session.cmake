# unit_fix_session: sequence refusals recognised in QuickFIX's and brokers' texts, and the
# reconnect backoff after them (adapters/fix/sequence_refusal.h, session_control.h).
include(GoogleTest)
add_executable(unit_fix_session ${PROJECT_SOURCE_DIR}/tests/unit/fix_session_test.cpp)
target_link_libraries(unit_fix_session PRIVATE brokergw_fix GTest::gtest_main)
gtest_discover_tests(unit_fix_session DISCOVERY_TIMEOUT 30)
