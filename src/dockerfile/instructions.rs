//! Typed instructions lowered from the node tree, with their flags parsed and checked.
