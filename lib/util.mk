# lib/: code shared by the daemon, the tools and the tests.
$(eval $(call lib,mcimutil,lib/hex.c))
$(eval $(call unit_test,test-hex,tests/unit/test-hex.c,mcimutil))
