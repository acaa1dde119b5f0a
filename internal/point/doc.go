// Package point implements the parameter points of SPEC §3.
package point
