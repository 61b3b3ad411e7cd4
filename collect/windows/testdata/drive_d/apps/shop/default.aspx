<%@ Page %>shop
