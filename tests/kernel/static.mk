# Static checks of kernel/: W=1, sparse, checkpatch --strict; and the DKMS build.
$(call add_test,kernel,tests/kernel/static-checks)
$(call add_test,kernel,tests/kernel/dkms-build)
