# unit_intake: the internal API's JSON request parsing and response rendering, including a
# seeded random-input run (the seed is printed; BROKERGW_TEST_SEED replays it).
include(GoogleTest)
add_executable(unit_intake ${PROJECT_SOURCE_DIR}/tests/unit/request_json_test.cpp)
target_link_libraries(unit_intake PRIVATE brokergw_intake_json GTest::gtest_main)
gtest_discover_tests(unit_intake DISCOVERY_TIMEOUT 30)
