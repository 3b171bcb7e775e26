"""Pure rules of Headwater: entities, states, access and naming rules, errors. No I/O."""
