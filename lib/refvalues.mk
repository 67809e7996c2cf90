# lib/model.c, lib/json-util.c: a device model's reference values (the one
# parser of that JSON format) and the strict JSON helpers it is built on;
# linked by mcim-operator (the PVA's model) and mcimd (semi-autonomous
# validation checks the device's logs against the same document).
$(eval $(call lib,refvalues,lib/model.c lib/json-util.c,$(LDLIBS_jsonc) $(LDLIBS_crypto)))
