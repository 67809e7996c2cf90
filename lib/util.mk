# lib/: code shared by the daemon, the tools and the tests.
$(eval $(call lib,mcimutil,lib/hex.c lib/fileio.c lib/sw.c lib/why.c))
$(eval $(call unit_test,test-hex,tests/unit/test-hex.c,mcimutil))
$(eval $(call unit_test,test-fileio,tests/unit/test-fileio.c,mcimutil))
