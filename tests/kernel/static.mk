# Static checks of kernel/: W=1, sparse, checkpatch --strict.
$(call add_test,kernel,tests/kernel/static-checks)
