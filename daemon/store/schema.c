// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The store's schema as a list of migrations: migration N takes a database
 * at user_version N-1 to N.  store.c runs all pending ones in one
 * transaction and sets user_version at its end, so a crash mid-way leaves
 * the old version intact.  Never edit a migration once released: add one.
 * docs/store.md describes the tables.
 */
#include "daemon/store/store-internal.h"

static const char migration_1[] =
	/* Key/value metadata: the anti-rollback generation, creation time. */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value INTEGER NOT NULL"
	") STRICT;"
	"INSERT INTO meta(key, value) VALUES ('generation', 0);"
	"INSERT INTO meta(key, value) VALUES ('created', unixepoch());"

	"CREATE TABLE profiles ("
	"  id INTEGER PRIMARY KEY,"
	"  iccid TEXT NOT NULL UNIQUE,"
	"  imsi TEXT NOT NULL DEFAULT '',"
	"  class INTEGER NOT NULL CHECK (class IN (0, 1)),"
	"  state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),"
	"  nickname TEXT NOT NULL DEFAULT '',"
	"  operator TEXT NOT NULL DEFAULT '',"
	"  installed_at INTEGER NOT NULL,"
	"  changed_at INTEGER NOT NULL,"
	"  atr BLOB,"
	"  algo INTEGER NOT NULL CHECK (algo IN (1, 2)),"
	"  milenage_r BLOB,"
	"  milenage_c BLOB,"
	"  tuak_mac_bits INTEGER, tuak_res_bits INTEGER,"
	"  tuak_ck_bits INTEGER, tuak_ik_bits INTEGER, tuak_iterations INTEGER,"
	"  sqn_ind_bits INTEGER NOT NULL,"
	"  sqn_delta INTEGER NOT NULL,"
	"  sqn_limit_l INTEGER NOT NULL,"
	"  n_files INTEGER NOT NULL,"
	"  n_pins INTEGER NOT NULL"
	") STRICT;"
	/* At most one enabled profile, enforced by the database itself. */
	"CREATE UNIQUE INDEX profiles_one_enabled ON profiles(state)"
	"  WHERE state = 1;"

	/* Every node of the file tree; idx is the usim.h files[] index. */
	"CREATE TABLE files ("
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  parent INTEGER NOT NULL,"
	"  path TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  fid INTEGER NOT NULL,"
	"  sfi INTEGER NOT NULL,"
	"  lcs INTEGER NOT NULL,"
	"  shareable INTEGER NOT NULL,"
	"  arr_fid INTEGER NOT NULL,"
	"  arr_record INTEGER NOT NULL,"
	"  aid BLOB,"
	"  size INTEGER NOT NULL,"
	"  rec_len INTEGER NOT NULL,"
	"  rec_count INTEGER NOT NULL,"
	"  data BLOB," /* transparent EFs; record EFs use records */
	"  PRIMARY KEY (profile_id, idx)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE records ("
	"  profile_id INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  recno INTEGER NOT NULL," /* 1-based, as in usim.h files[].data */
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY (profile_id, idx, recno),"
	"  FOREIGN KEY (profile_id, idx) REFERENCES files(profile_id, idx)"
	"    ON DELETE CASCADE"
	") STRICT, WITHOUT ROWID;"

	/* PIN state in clear; values sealed in blobs "pin:XX". */
	"CREATE TABLE pins ("
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
	"  key_ref INTEGER NOT NULL,"
	"  pos INTEGER NOT NULL,"
	"  enabled INTEGER NOT NULL,"
	"  use_upin INTEGER NOT NULL,"
	"  has_puk INTEGER NOT NULL,"
	"  can_disable INTEGER NOT NULL,"
	"  max_tries INTEGER NOT NULL,"
	"  tries_left INTEGER NOT NULL,"
	"  puk_max_tries INTEGER NOT NULL,"
	"  puk_tries_left INTEGER NOT NULL,"
	"  PRIMARY KEY (profile_id, key_ref)"
	") STRICT, WITHOUT ROWID;"

	/* SEQ_MS(IND), TS 33.102 C.2.2. */
	"CREATE TABLE sqn ("
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
	"  ind INTEGER NOT NULL,"
	"  seq_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (profile_id, ind)"
	") STRICT, WITHOUT ROWID;"

	/* Opaque TPM blobs and sealed secrets. */
	"CREATE TABLE blobs ("
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY (profile_id, kind)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE device_blobs ("
	"  kind TEXT PRIMARY KEY NOT NULL,"
	"  data BLOB NOT NULL"
	") STRICT, WITHOUT ROWID;"

	/* Audit log: ICCID as text so that entries outlive their profile. */
	"CREATE TABLE audit ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time_ms INTEGER NOT NULL,"
	"  event TEXT NOT NULL,"
	"  iccid TEXT NOT NULL DEFAULT '',"
	"  detail TEXT NOT NULL DEFAULT ''"
	") STRICT;";

/* Version 2: the SQN ceiling of each profile (docs/store.md "Rollback"). */
static const char migration_2[] =
	"ALTER TABLE profiles ADD COLUMN sqn_ceiling INTEGER NOT NULL DEFAULT 0;";

/*
 * Version 3: the expiry of a profile (a provisioning profile's provisional
 * identity, docs/store.md "Provisioning"); 0 is never.
 */
static const char migration_3[] =
	"ALTER TABLE profiles ADD COLUMN expires INTEGER NOT NULL DEFAULT 0"
	"  CHECK (expires >= 0);";

/*
 * Version 4: what the device records at the install of a subscription from
 * an operator package (docs/change-format.md 1): the installing SHO's id,
 * the M2M subscriber's name and key id, the contract lock's end, the ICCID
 * a switch package replaces; and the ids of the consents and releases it
 * accepted, kept until their expiry (section 2: single use).  Empty / 0:
 * not recorded (a local install, a version 1 package).
 */
static const char migration_4[] =
	"ALTER TABLE profiles ADD COLUMN sho_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE profiles ADD COLUMN subscriber TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE profiles ADD COLUMN subscriber_key TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE profiles ADD COLUMN lock_until INTEGER NOT NULL DEFAULT 0"
	"  CHECK (lock_until >= 0);"
	"ALTER TABLE profiles ADD COLUMN replaces TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE tokens ("
	"  kind TEXT NOT NULL CHECK (kind IN ('consent', 'release')),"
	"  id TEXT NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, id)"
	") STRICT, WITHOUT ROWID;";

const char *const store_migrations[] = {
	migration_1,
	migration_2,
	migration_3,
	migration_4,
};
const size_t store_n_migrations = ARRAY_SIZE(store_migrations);

_Static_assert(ARRAY_SIZE(store_migrations) == STORE_SCHEMA_VERSION,
	       "one migration per schema version");
