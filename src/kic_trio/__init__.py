"""kic-trio"""
