# unit_config: the configuration loader, its error messages, and docs/CONFIGURATION.md
# against the generated reference.
include(GoogleTest)
add_executable(unit_config ${PROJECT_SOURCE_DIR}/tests/unit/config_test.cpp)
target_link_libraries(unit_config PRIVATE brokergw_config GTest::gtest_main)
# The test reads docs/CONFIGURATION.md and config/brokergw.example.toml from the source tree.
target_compile_definitions(unit_config PRIVATE BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(unit_config DISCOVERY_TIMEOUT 30)
