# tests/interop/: cross-checks against independent implementations (group
# "interop"; `make check-interop`).  aka-osmo-interop: daemon/aka against
# osmo-auc-gen (Debian libosmocore-utils), see its header comment.
$(eval $(call test_prog,aka-osmo-interop,tests/interop/aka-osmo-interop.c,aka mcimutil,))
$(call add_test,interop,$(BUILD)/tests/aka-osmo-interop,$(BUILD)/tests/aka-osmo-interop)
