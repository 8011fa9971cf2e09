"""The package version, in a module of its own so that the modules that print or stamp it need not import the
package root (which registers the Auto classes on import)."""

__version__ = "0.1.0"
