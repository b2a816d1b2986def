"""One widget per module; widgets render core objects and never fetch data themselves."""
