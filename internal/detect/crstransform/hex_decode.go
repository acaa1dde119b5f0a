// Copyright 2025 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package crstransform

import (
	"encoding/hex"
)

func hexDecode(data string) (string, bool, error) {
	dst, err := hex.DecodeString(data)
	if err != nil {
		return "", false, err
	}

	return WrapUnsafe(dst), true, nil
}
