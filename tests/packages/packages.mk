# tests/packages/: the Debian packages (docs/packaging.md).  Not in `make
# check`: `make check-packages` builds the .debs, checks them with lintian and
# dpkg -c, and installs them in a Debian 12 VM image built with mmdebstrap
# (minutes; the image is cached in build/pkgtest/cache).  CI runs it
# (.ci/run).
check-packages: deb
	@TEST_TIMEOUT=$${TEST_TIMEOUT:-1800} tests/run tests/packages/contents tests/packages/vm-test tests/packages/containers
.PHONY: check-packages

# The VM image and container base cache (about 1.3 GB; also removed by `make
# clean` with build/) and the container images in podman's storage.
clean-packages:
	rm -rf $(BUILD)/pkgtest $(BUILD)/containers
	-podman rmi -f localhost/mcim-lab localhost/mcim-operator localhost/mcim-base:bookworm 2>/dev/null
.PHONY: clean-packages
