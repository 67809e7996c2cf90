# `make deb`: the Debian packages (debian/) built with dpkg-buildpackage from
# a copy of the tracked files under build/deb/src, so that the package build
# never touches this tree's build/.  The .debs land in build/deb/.
DEB_DIR := $(BUILD)/deb
deb:
	@scripts/install-deps
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && DEB_BUILD_OPTIONS="parallel=2 $(DEB_BUILD_OPTIONS)" \
		dpkg-buildpackage -us -uc -b
	@ls $(DEB_DIR)/*.deb
.PHONY: deb
