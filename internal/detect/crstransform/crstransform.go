// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

// Package crstransform is a copy of Coraza v3.8.1's transformations
// (internal/transformations, Apache-2.0), which Coraza does not export. The
// fast detection path applies a rule's exact transformation chain to a value
// before looking for the literals the rule's operator requires, so these
// must be byte-for-byte Coraza's: refresh the copy when Coraza is upgraded.
package crstransform

import "unsafe"

// Func transforms a value; changed reports whether the output differs.
type Func func(value string) (out string, changed bool, err error)

// Get returns the transformation with the SecLang name (as in t:urlDecodeUni).
func Get(name string) (Func, bool) {
	switch name {
	case "base64Decode":
		return base64decode, true
	case "base64DecodeExt":
		return base64decodeext, true
	case "base64Encode":
		return base64encode, true
	case "cmdLine":
		return cmdLine, true
	case "compressWhitespace":
		return compressWhitespace, true
	case "cssDecode":
		return cssDecode, true
	case "escapeSeqDecode":
		return escapeSeqDecode, true
	case "hexDecode":
		return hexDecode, true
	case "hexEncode":
		return hexEncode, true
	case "htmlEntityDecode":
		return htmlEntityDecode, true
	case "jsDecode":
		return jsDecode, true
	case "length":
		return length, true
	case "lowercase":
		return lowerCase, true
	case "md5":
		return md5T, true
	case "none":
		return none, true
	case "normalisePath", "normalizePath":
		return normalisePath, true
	case "normalisePathWin", "normalizePathWin":
		return normalisePathWin, true
	case "removeComments":
		return removeComments, true
	case "removeCommentsChar":
		return removeCommentsChar, true
	case "removeNulls":
		return removeNulls, true
	case "removeWhitespace":
		return removeWhitespace, true
	case "replaceComments":
		return replaceComments, true
	case "replaceNulls":
		return replaceNulls, true
	case "sha1":
		return sha1T, true
	case "uppercase":
		return upperCase, true
	case "urlDecode":
		return urlDecode, true
	case "urlDecodeUni":
		return urlDecodeUni, true
	case "urlEncode":
		return urlEncode, true
	case "utf8toUnicode":
		return utf8ToUnicode, true
	case "trim":
		return trim, true
	case "trimLeft":
		return trimLeft, true
	case "trimRight":
		return trimRight, true
	}
	return nil, false
}

// ValidHex reports whether x is a hex digit (Coraza internal/strings).
func ValidHex(x byte) bool {
	return (x >= '0' && x <= '9') || (x >= 'a' && x <= 'f') || (x >= 'A' && x <= 'F')
}

// WrapUnsafe wraps the byte slice as a string without copying (Coraza
// internal/strings); the slice must not change afterwards.
func WrapUnsafe(buf []byte) string {
	return *(*string)(unsafe.Pointer(&buf))
}

// X2c converts a hex character to its ascii value
func X2c(what string) byte {
	var digit byte
	if what[0] >= 'A' {
		digit = ((what[0] & 0xdf) - 'A') + 10
	} else {
		digit = what[0] - '0'
	}
	digit *= 16
	if what[1] >= 'A' {
		digit += ((what[1] & 0xdf) - 'A') + 10
	} else {
		digit += what[1] - '0'
	}

	return digit
}
