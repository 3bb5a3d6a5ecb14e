# unit_events_doc: docs/EVENTS.md lists exactly the core's event types, reason codes and anomaly
# reasons, and docs/RECOVERY.md names every schedule step and report kind
# (gateway/core/resolution_names.cpp is the one name table of each).
include(GoogleTest)
add_executable(unit_events_doc ${PROJECT_SOURCE_DIR}/tests/unit/events_doc_test.cpp)
target_link_libraries(unit_events_doc PRIVATE brokergw_core GTest::gtest_main)
# The test reads docs/EVENTS.md and docs/RECOVERY.md from the source tree.
target_compile_definitions(unit_events_doc PRIVATE BROKERGW_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
gtest_discover_tests(unit_events_doc DISCOVERY_TIMEOUT 30)
