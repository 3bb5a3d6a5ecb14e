# FIX mapping and secret handling (adapters/fix) against golden messages.
include(GoogleTest)
add_executable(unit_fix ${PROJECT_SOURCE_DIR}/tests/unit/fix_mapping_test.cpp)
target_link_libraries(unit_fix PRIVATE brokergw_fix GTest::gtest_main)
target_compile_definitions(unit_fix PRIVATE BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(unit_fix DISCOVERY_TIMEOUT 30)
