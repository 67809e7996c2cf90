// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The operator store's schema, as numbered migrations.  Migration N moves
 * the schema from version N-1 to N; a database is brought to the newest
 * version at open, each step in its own transaction.  Never edit a migration
 * that has shipped: add the next one.  Portable SQL only (db.h): TEXT and
 * BIGINT columns, no engine-specific types or functions.
 */
#include "tools/mcim-operator/store-internal.h"

const char *const store_migrations[] = {
	/* 1: registration and platform validation */
	"CREATE TABLE shos ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  pva_url TEXT NOT NULL,"
	"  dpf_url TEXT NOT NULL);"
	"CREATE TABLE models ("
	"  name TEXT NOT NULL,"
	"  version BIGINT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  created BIGINT NOT NULL,"
	"  PRIMARY KEY (name, version));"
	"CREATE TABLE devices ("
	"  id TEXT PRIMARY KEY,"
	"  ek_type TEXT NOT NULL,"
	"  ek_public TEXT NOT NULL,"
	"  ek_ca TEXT NOT NULL,"
	"  model TEXT NOT NULL,"
	"  subscriber TEXT NOT NULL,"
	"  sho TEXT NOT NULL,"
	"  batch TEXT NOT NULL,"
	"  created BIGINT NOT NULL,"
	"  reset_count BIGINT,"
	"  restart_count BIGINT,"
	"  clock BIGINT,"
	"  validated BIGINT NOT NULL DEFAULT 0);"
	"CREATE INDEX devices_batch ON devices (batch);"
	"CREATE INDEX devices_sho ON devices (sho);"
	"CREATE TABLE sessions ("
	"  id TEXT PRIMARY KEY,"
	"  device_id TEXT NOT NULL REFERENCES devices (id),"
	"  nonce TEXT NOT NULL UNIQUE,"
	"  secret TEXT NOT NULL,"
	"  ak_public TEXT NOT NULL,"
	"  model TEXT NOT NULL,"
	"  model_version BIGINT NOT NULL,"
	"  mode TEXT NOT NULL,"
	"  created BIGINT NOT NULL,"
	"  expires BIGINT NOT NULL,"
	"  used BIGINT NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_expires ON sessions (expires);"
	"CREATE TABLE tickets ("
	"  jti TEXT PRIMARY KEY,"
	"  device_id TEXT NOT NULL REFERENCES devices (id),"
	"  issued BIGINT NOT NULL,"
	"  expires BIGINT NOT NULL,"
	"  used BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE audit ("
	"  at BIGINT NOT NULL,"
	"  device_id TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  result TEXT NOT NULL,"
	"  detail TEXT NOT NULL);"
	"CREATE INDEX audit_device ON audit (device_id, at);",
};

const unsigned store_migrations_count = sizeof(store_migrations) / sizeof(store_migrations[0]);
