"""Store backends behind ``kg.store.Store``."""
