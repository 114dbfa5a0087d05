// TrainyardTestSupport
