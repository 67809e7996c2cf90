# tests/usimsh/: usimsh scripts with expected output (start-up sequence,
# --state persistence, exit codes, --raw replay); group "usimsh".
$(call add_test,usimsh,tests/usimsh/run,$(BUILD)/bin/usimsh)
$(call add_test,usimsh,tests/usimsh/replay,$(BUILD)/bin/usimsh)
