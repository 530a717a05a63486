/* SPDX-License-Identifier: ISC */
/*
 * sha256.h -- SHA-256 (FIPS 180-4), for the PKCE code challenge only.
 * Pure function, no state; out receives 32 bytes.
 */
#ifndef TT_SHA256_H
#define TT_SHA256_H

#include <stddef.h>
#include <stdint.h>

void sha256(const void *data, size_t len, uint8_t out[32]);

#endif
