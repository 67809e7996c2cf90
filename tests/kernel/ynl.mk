# The YNL spec of the vusim family against the uapi header and the policy.
$(call add_test,kernel,tests/kernel/ynl-spec-check)
