"""PyNN standard models for pyNN.gpu: translation tables plus references to codegen models."""
