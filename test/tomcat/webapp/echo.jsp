<%--
  Reads the whole request body and describes the request: body length and SHA-256, and what the
  container learnt about the client from the AJP Forward Request (or the HTTP request).
--%><%@ page contentType="application/json" session="false" import="java.security.MessageDigest" %><%
MessageDigest md = MessageDigest.getInstance("SHA-256");
java.io.InputStream in = request.getInputStream();
byte[] buf = new byte[65536];
long n = 0;
for (int r; (r = in.read(buf)) != -1; ) { md.update(buf, 0, r); n += r; }
StringBuilder hex = new StringBuilder();
for (byte b : md.digest()) hex.append(String.format("%02x", b));
%>{"length":<%= n %>,"sha256":"<%= hex %>","method":"<%= request.getMethod() %>","uri":"<%= request.getRequestURI() %>","query":"<%= request.getQueryString() %>","remoteAddr":"<%= request.getRemoteAddr() %>","remotePort":<%= request.getRemotePort() %>,"serverName":"<%= request.getServerName() %>","serverPort":<%= request.getServerPort() %>,"secure":<%= request.isSecure() %>,"contentLength":<%= request.getContentLengthLong() %>,"node":"<%= System.getProperty("jvmRoute") %>"}